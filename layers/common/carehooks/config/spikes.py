"""Spike alerts: the ``automation.spikes`` section of the configuration document.

```yaml
automation:
  spikes:
    enabled: true          # default on
    multiple: 3            # a 5-minute bucket above 3 x its baseline is a spike ...
    min_count: 20          # ... when it also holds at least 20 messages
    baseline_days: 7       # baseline: the median of the same bucket of the day over the past 7 days
    recipients: []         # = ops.recipients
```

The counters, the detection and the email are :mod:`carehooks.automation.spikes`; ``docs/spikes.md``
says how they work. The JSON Schema of the section is the model's (``carehooks config schema``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from carehooks.config.sla import Recipients, _addresses

MAX_BASELINE_DAYS = 28  # every run reads each baseline day's bucket: bounded


class SpikesConfig(BaseModel):
    """When inbound volume is a spike, and who hears about it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="count inbound volume and alert on spikes")
    multiple: float = Field(
        3.0, gt=1, le=1000, description="a bucket above multiple x its baseline is a spike"
    )
    min_count: int = Field(
        20, ge=1, le=1_000_000, description="fewer messages than this in a bucket are never a spike"
    )
    baseline_days: int = Field(
        7,
        ge=1,
        le=MAX_BASELINE_DAYS,
        description="baseline: the median of the same 5-minute bucket of the day over these past days",
    )
    recipients: Recipients = Field(
        default_factory=list, description="who gets spike emails; empty = ops.recipients"
    )

    _check = field_validator("recipients")(_addresses)
