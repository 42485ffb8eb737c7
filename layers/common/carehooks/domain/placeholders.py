"""Placeholders in saved replies: ``{contact_name}``, ``{agent_name}``, ``{attributes.<key>}``, ``{<variable>}``.

Pure. :func:`parse` reads a template once (it refuses a brace that opens no known placeholder, so a typo
like ``{contact name}`` or ``{{contact_name}`` is caught when the reply is saved, not when it is sent);
:func:`render` fills it from a mapping of values and names what it could not fill. ``{{`` and ``}}``
write a literal brace.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

CONTACT_NAME = "contact_name"
AGENT_NAME = "agent_name"
ATTRIBUTES_PREFIX = "attributes."
MAX_NAME_CHARS = 64

# A placeholder name: a variable (an identifier), or an attribute of the contact (``attributes.<key>``).
NAME_PATTERN = r"(?:attributes\.[A-Za-z0-9_-]{1,64}|[A-Za-z_][A-Za-z0-9_]{0,63})"
_NAME = re.compile(NAME_PATTERN)
_TOKEN = re.compile(r"\{\{|\}\}|\{(" + NAME_PATTERN + r")\}|[{}]")


class PlaceholderError(ValueError):
    """A template with a brace that is not a placeholder (nor ``{{`` / ``}}``)."""

    def __init__(self, position: int, fragment: str) -> None:
        super().__init__(
            f"unknown placeholder syntax at character {position + 1} ({fragment!r}): use {{contact_name}}, "
            "{agent_name}, {attributes.<key>} or {<variable>} (letters, digits, _), and {{ or }} for a brace"
        )
        self.position = position


@dataclass(frozen=True)
class Template:
    """A parsed template: literal text and placeholder names, in order (a name is a ``str`` in ``names``)."""

    parts: tuple[tuple[bool, str], ...]  # (is a placeholder, literal text or placeholder name)

    @property
    def names(self) -> tuple[str, ...]:
        """The placeholder names it uses, each once, in order of first use."""
        return tuple(dict.fromkeys(text for placeholder, text in self.parts if placeholder))


def is_name(name: str) -> bool:
    """Whether ``name`` is a placeholder name (a variable, or ``attributes.<key>``)."""
    return _NAME.fullmatch(name) is not None


def parse(text: str) -> Template:
    """The template of ``text``; :class:`PlaceholderError` at the first brace that opens no placeholder."""
    parts: list[tuple[bool, str]] = []
    start = 0
    for match in _TOKEN.finditer(text):
        literal = text[start : match.start()]
        token = match.group(0)
        if match.group(1) is not None:
            parts.append((False, literal))
            parts.append((True, match.group(1)))
        elif token in ("{{", "}}"):
            parts.append((False, literal + token[0]))
        else:
            raise PlaceholderError(match.start(), text[match.start() : match.start() + 20])
        start = match.end()
    parts.append((False, text[start:]))
    merged: list[tuple[bool, str]] = []
    for part in parts:
        if merged and not part[0] and not merged[-1][0]:
            merged[-1] = (False, merged[-1][1] + part[1])
        elif part[0] or part[1]:
            merged.append(part)
    return Template(tuple(merged))


@dataclass(frozen=True)
class Rendered:
    """The text with every placeholder it could fill, and the names it could not (in order)."""

    text: str
    unresolved: tuple[str, ...]


def render(template: Template, values: Mapping[str, str]) -> Rendered:
    """Fill ``template`` from ``values``; a name missing from it (or blank there) is left unresolved."""
    out: list[str] = []
    missing: list[str] = []
    for placeholder, text in template.parts:
        if not placeholder:
            out.append(text)
            continue
        value = values.get(text)
        if value is None or not value.strip():
            missing.append(text)
            out.append("{" + text + "}")
        else:
            out.append(value)
    return Rendered("".join(out), tuple(dict.fromkeys(missing)))
