"""Email rendering with Jinja2: HTML templates are autoescaped, plain-text templates are not.

Templates live beside this module (``templates/*.html`` and ``*.txt``); anything a customer wrote reaches
them as data and is escaped in HTML, so a message like ``<script>`` shows as text in the mail.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2

TEMPLATES = Path(__file__).resolve().parent / "templates"


@cache
def environment() -> jinja2.Environment:
    """The one Jinja2 environment: strict about undefined names, escaping on for HTML (and by default)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html",), disabled_extensions=("txt",), default_for_string=True, default=True
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(name: str, **context: Any) -> str:
    """Render one template by file name."""
    return environment().get_template(name).render(**context)
