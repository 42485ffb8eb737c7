"""HTTP at the edge: reading API Gateway events, building answers, and the one error mapper.

- :mod:`carehooks.web.events`: the raw body, headers, query and method of an API Gateway (v2) event.
- :mod:`carehooks.web.responses`: JSON and text answers.
- :mod:`carehooks.web.errors`: every HTTP error (status, code, public message), the one error body and
  the mapping of an exception to an answer, for the webhooks, the agent API and the survey page.
- :mod:`carehooks.web.request`: a webhook request as its receiver reads it (raw bytes first).
- :mod:`carehooks.web.jsonbody`: a request body as JSON, safely (the webhooks and the agent API).

Kept light (nothing is imported here): the webhooks' cold start reads only what it uses.
"""
