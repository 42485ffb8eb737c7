"""Automation over time (issue 17): what acts when time passes without a message.

``run`` is one run of ``AutomationFunction`` (every minute): auto-resolve (``resolve``), the assignee
timer (``reassign``), over the due conversations found by ``due`` (pure: which timers, which index items,
due times, cursors). Spike alerts (issue 17b) live in ``spikes``. SLA rung actions run in the SLA monitor
(:mod:`carehooks.sla.actions`).
"""
