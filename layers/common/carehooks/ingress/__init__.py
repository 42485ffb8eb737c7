"""The webhook receive flow every platform shares: verify, split, enqueue, answer."""
