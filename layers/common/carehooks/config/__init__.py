"""Settings (typed, from the environment and the secret) and the configuration document, its whole schema.

- :mod:`carehooks.config.document`: the root model (``ConfigDocument``) and cross-section checks.
- :mod:`carehooks.config.rules`: the ``rules`` and ``acknowledgement`` sections.
- :mod:`carehooks.config.calendars`: business-hours calendars (time zone, intervals, holidays, closures).
- :mod:`carehooks.config.sla`: the ``sla`` section (policies, metrics, escalation steps).
- :mod:`carehooks.config.surveys`: the ``surveys`` section.
- :mod:`carehooks.config.loader`: loads and caches the document; :mod:`carehooks.config.settings`.

This package imports nothing of carehooks above :mod:`carehooks.domain`, :mod:`carehooks.clock` and
:mod:`carehooks.observability`.
"""
