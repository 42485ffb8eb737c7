"""Rendering with Jinja2: the one environment factory for every template of the package.

Each package keeps its templates in its own ``templates/`` folder (``notify``: ops emails; ``reports``:
the weekly digest; ``surveys``: the low-score alert and the survey page) and asks :func:`environment`
for the environment that loads them. Every environment is strict about undefined names and escapes HTML
templates (and strings) but not plain-text ones (``*.txt``), so anything a customer wrote reaches a
template as data and shows as text: a message like ``<script>`` is escaped in the mail or page.

Jinja2 is imported on first render, never at import (cold starts of the functions that never render).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2

NOTIFY_TEMPLATES = "carehooks.notify"


@cache
def environment(package: str, *, keep_trailing_newline: bool = False) -> jinja2.Environment:
    """The environment loading ``<package>/templates/`` (one per package and process).

    ``keep_trailing_newline``: keep the newline a template file ends with (the ``notify`` emails do).
    """
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader(package, "templates"),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html",), disabled_extensions=("txt",), default_for_string=True, default=True
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=keep_trailing_newline,
    )


def notify_environment() -> jinja2.Environment:
    """The environment of the ``notify`` templates (ops emails: SLA digest, channel health)."""
    return environment(NOTIFY_TEMPLATES, keep_trailing_newline=True)


def render(name: str, **context: Any) -> str:
    """Render one of the ``notify`` templates by file name."""
    return notify_environment().get_template(name).render(**context)


def render_email(env: jinja2.Environment, stem: str, context: Mapping[str, Any]) -> tuple[str, str]:
    """(HTML, text) of an email: ``<stem>.html`` and ``<stem>.txt`` rendered with the same context."""
    return env.get_template(f"{stem}.html").render(context), env.get_template(f"{stem}.txt").render(context)
