"""Tests hand the functions a configuration document the way the functions get one: from the loader."""

from __future__ import annotations

from typing import Any

import pytest

from carehooks.config import loader
from carehooks.config.document import ConfigDocument


class _Overlay:
    """The document the real loader would give (read when asked, not before), with sections replaced."""

    def __init__(self, real: Any, sections: dict[str, Any]) -> None:
        self.real = real
        self.sections = sections

    def load(self) -> ConfigDocument:
        document: ConfigDocument = self.real.load().model_copy(update=self.sections)
        return document


def use_document(monkeypatch: pytest.MonkeyPatch, **sections: Any) -> None:
    """Every ``load_config()`` answers the document then in force with ``sections`` replaced."""
    monkeypatch.setattr(loader, "_loader", _Overlay(loader._loader, sections))
