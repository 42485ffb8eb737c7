"""The agent API: an authenticated HTTP API for agents and their tools (AgentApiFunction).

- :mod:`carehooks.api.app`: the resolver, its routes (:mod:`carehooks.api.routes`) and the entry point.
- :mod:`carehooks.api.errors`: the resolver's exception handlers (the errors are :mod:`carehooks.web.errors`).
- :mod:`carehooks.api.auth`: the acting agent, from the authorizer's JWT claims.
- :mod:`carehooks.api.models`: request and response models (and so the OpenAPI document).
- :mod:`carehooks.api.conversations`: the use cases.
"""
