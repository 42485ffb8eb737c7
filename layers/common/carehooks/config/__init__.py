"""Settings (typed, from the environment and the secret) and configuration documents."""
