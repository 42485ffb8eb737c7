"""One folder per platform. Each holds its quirks: verify and split (ingress), parse (adapter), send (client)."""
