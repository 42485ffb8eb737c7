"""The configuration document: rules, templates, calendars, agents, SLA policies, surveys (one YAML).

Sections are pydantic models owned by their modules; this root model gathers them. A default ships with
the package (``default.yaml``); a deployment points ``CONFIG_PARAMETER`` at an SSM parameter; the local
stack sets ``CAREHOOKS_CONFIG`` to a file path.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from carehooks.sla.policy import SlaConfig
from carehooks.surveys.config import SurveyConfig


class ConfigDocument(BaseModel):
    """The root of the configuration document."""

    model_config = ConfigDict(extra="forbid")

    version: str = "1"
    sla: SlaConfig = SlaConfig()
    surveys: SurveyConfig = SurveyConfig()
