"""The configuration document as the functions read it: the loader, with the rules floor's checks."""

from __future__ import annotations

from collections.abc import Callable

from carehooks.config.document import ConfigDocument
from carehooks.config.loader import load_config, use_checks

ConfigSource = Callable[[], ConfigDocument]


def _template_checks(document: ConfigDocument) -> list[tuple[str, str]]:
    # Cold start: the channels' traits (text limits) load when a document is first validated.
    from carehooks.rules.templates import CHECKS

    problems: list[tuple[str, str]] = []
    for check in CHECKS:
        problems.extend(check(document))
    return problems


# Every function that reads the configuration document also refuses acknowledgement texts over a
# channel's limit (a check of the rules floor, which the config floor cannot import).
use_checks([_template_checks])

__all__ = ["ConfigSource", "load_config"]
