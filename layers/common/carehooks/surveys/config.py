"""The surveys section of the current configuration document (its models: :mod:`carehooks.config.surveys`)."""

from __future__ import annotations

from carehooks.config.surveys import SurveyConfig


def survey_config() -> SurveyConfig:
    """The surveys section of the current configuration document (the loader caches it briefly)."""
    from carehooks.config.document import load_config

    return load_config().surveys
