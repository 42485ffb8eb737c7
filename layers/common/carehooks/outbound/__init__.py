"""The sending interface: the client protocol, its models and errors, the HTTP session, text fitting."""
