"""Reading a request body as JSON, safely: for every JSON platform's webhook and for the agent API.

Hostile or broken bodies become an error the edge answers as a client error, never an unhandled error
(500):

- not UTF-8 (strictly: no encoded surrogates, no overlong forms), or not JSON;
- nested deeper than :data:`MAX_DEPTH` (``json.loads`` raises ``RecursionError`` near 1,000 levels,
  and deep documents would also break later steps: DynamoDB allows 32 levels);
- ``NaN`` / ``Infinity`` (not JSON; Python accepts them by default);
- an integer longer than :data:`MAX_INT_DIGITS` digits (valid JSON, but Python refuses to convert more
  than 4,300 digits with a ``ValueError`` from deep inside the decoder): :class:`NumberTooLongError`,
  so the agent API can answer it as invalid input (422) rather than as broken JSON.

:func:`parse` is the neutral reader (:class:`JsonBodyError`). :func:`load_object` is the webhooks'
reader: a JSON object or :class:`MalformedBodyError` (400). Lone UTF-16 surrogates written as escapes
(``"\\ud800"``: a platform truncating an emoji mid-pair) decode to text that cannot be encoded again;
:func:`load_object` replaces them with U+FFFD so the message is kept rather than refused or stuck in
retries (the agent API refuses them instead, in its models).
"""

from __future__ import annotations

import json
import re
from typing import Any

from carehooks.web.errors import MalformedBodyError

MAX_DEPTH = 32
# No field of any JSON body carehooks reads holds an integer anywhere near this long.
MAX_INT_DIGITS = 1_000
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonBodyError(ValueError):
    """The body is not acceptable JSON; the text is a short reason for the logs."""


class NumberTooLongError(JsonBodyError):
    """Well-formed JSON with an integer longer than :data:`MAX_INT_DIGITS` digits."""


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _integer(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise NumberTooLongError(f"an integer has more than {MAX_INT_DIGITS} digits")
    return int(digits)


def parse(text: str) -> Any:
    """The JSON document ``text`` holds (any JSON value), checked for depth and number sizes."""
    try:
        document = json.loads(text, parse_constant=_no_constant, parse_int=_integer)
    except RecursionError as exc:
        raise JsonBodyError("body is nested too deeply") from exc
    except NumberTooLongError:
        raise
    except ValueError as exc:
        raise JsonBodyError("body is not JSON") from exc
    # Only bodies with enough brackets can be too deep.
    if text.count("{") + text.count("[") > MAX_DEPTH:
        _check_depth(document)
    return document


def _check_depth(document: Any) -> None:
    """An iterative walk (no recursion on hostile input)."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise JsonBodyError(f"body is nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, dict):
            stack.extend((value, depth + 1) for value in node.values())
        elif isinstance(node, list):
            stack.extend((value, depth + 1) for value in node)


def load_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, or :class:`MalformedBodyError` with a short reason."""
    try:
        # Decoded strictly first: json.loads(bytes) would let UTF-8-encoded surrogates through.
        body = parse(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise MalformedBodyError("body is not JSON") from exc
    except JsonBodyError as exc:
        raise MalformedBodyError(str(exc)) from exc
    if not isinstance(body, dict):
        raise MalformedBodyError("body is not a JSON object")
    document: dict[str, Any] = body
    # Only escapes can carry a lone surrogate.
    if b"\\u" in raw and _has_lone_surrogate(document):
        document = _repaired(document)
    return document


def _has_lone_surrogate(body: dict[str, Any]) -> bool:
    stack: list[Any] = [body]  # depth is bounded by now
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if any(_LONE_SURROGATE.search(key) for key in node):
                return True
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, str) and _LONE_SURROGATE.search(node):
            return True
    return False


def _repaired(body: dict[str, Any]) -> dict[str, Any]:
    # Depth is bounded by now, so recursion is safe here.
    def fix(node: Any) -> Any:
        if isinstance(node, str):
            return _LONE_SURROGATE.sub("\ufffd", node)
        if isinstance(node, dict):
            return {_LONE_SURROGATE.sub("\ufffd", k): fix(v) for k, v in node.items()}
        if isinstance(node, list):
            return [fix(v) for v in node]
        return node

    repaired: dict[str, Any] = fix(body)
    return repaired
