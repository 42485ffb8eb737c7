"""Twilio Programmable Messaging: SMS and WhatsApp-via-Twilio (``whatsapp:`` addresses), two channels."""
