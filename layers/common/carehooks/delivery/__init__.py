"""Use case: the window-aware send of one message to a customer, and its send log."""
