"""Tooling around the deployment: the local stack and the carehooks command line."""
