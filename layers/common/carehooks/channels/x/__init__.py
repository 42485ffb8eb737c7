"""X (Twitter) Account Activity API: direct messages and mentions/replies (public conversations)."""
