"""Automation over time (issue 17): what acts when time passes without a message.

- :mod:`carehooks.automation.spikes`: inbound volume counters and spike alerts.
"""
