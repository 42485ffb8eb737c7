"""Sending to customers: one interface for every channel, window-aware, stored once."""
