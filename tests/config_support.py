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

    def __getattr__(self, name: str) -> Any:  # anything else of the loader (e.g. its checks)
        return getattr(self.real, name)

    def load(self) -> ConfigDocument:
        # A new document, not model_copy: a copy would keep the original's cached properties.
        current = self.real.load()
        fields = {name: getattr(current, name) for name in type(current).model_fields}
        return ConfigDocument(**{**fields, **self.sections})


def use_document(monkeypatch: pytest.MonkeyPatch, **sections: Any) -> None:
    """Every ``load_config()`` answers the document then in force with ``sections`` replaced."""
    monkeypatch.setattr(loader, "_loader", _Overlay(loader._loader, sections))
