"""Load test of the local stack on loopback: ``python -m tests.load --messages 2000 --senders 20``."""
