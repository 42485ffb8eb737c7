"""The inbound processor use case: queued platform events → stored, threaded, acted upon."""
