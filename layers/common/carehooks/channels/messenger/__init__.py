"""Facebook Messenger (``"object": "page"``)."""
