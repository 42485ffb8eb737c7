"""carehooks: serverless backend for social customer care (shared Lambda layer package)."""
