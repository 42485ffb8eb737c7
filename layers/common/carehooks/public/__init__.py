"""Public conversations (comment threads): private replies to comments, and hiding comments."""
