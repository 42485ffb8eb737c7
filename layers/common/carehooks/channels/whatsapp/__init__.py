"""WhatsApp Cloud API (``"object": "whatsapp_business_account"``)."""
