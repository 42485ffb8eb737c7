"""Rules: tagging, priority, routing and automatic acknowledgement, driven by the configuration document.

The ``rules`` and ``acknowledgement`` sections (pydantic models) are in :mod:`carehooks.config.rules`,
business-hours calendars in :mod:`carehooks.config.calendars`.

- :mod:`carehooks.rules.engine`: a pure function of (config, message, context, now) → :class:`Decision`.
- :mod:`carehooks.rules.acknowledge`: the acknowledgement use case (claim, cooldown, render, send).
- :mod:`carehooks.rules.step`: the after-store step of the inbound processor.
"""
