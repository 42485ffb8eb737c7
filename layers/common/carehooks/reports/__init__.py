"""Reports: figures over stored conversations (first response, resolution, SLA, CSAT, tags) and the digest."""
