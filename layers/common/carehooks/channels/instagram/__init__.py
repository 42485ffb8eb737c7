"""Instagram messaging (``"object": "instagram"``)."""
