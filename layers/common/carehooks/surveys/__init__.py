"""CSAT surveys: when a resolved conversation is due one, sending it once, and capturing the answer."""
