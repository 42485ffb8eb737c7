"""The local stack: template.yaml run on one machine, no AWS account and no Docker (``make run``)."""
