"""What Messenger, Instagram and WhatsApp Cloud API share: one app secret, one callback, one envelope."""
