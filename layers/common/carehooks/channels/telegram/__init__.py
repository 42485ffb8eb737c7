"""Telegram Bot API: updates by webhook, ``sendMessage`` with inline keyboards."""
