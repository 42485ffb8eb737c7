"""Reading a signed webhook body as a JSON object, safely, for every JSON platform.

Hostile or broken bodies become :class:`MalformedBodyError` (400), never an unhandled error (500):

- not UTF-8 (strictly: no encoded surrogates, no overlong forms), not JSON, or not an object;
- nested deeper than :data:`MAX_DEPTH` (``json.loads`` raises ``RecursionError`` near 1,000 levels,
  and deep documents would also break later steps: DynamoDB allows 32 levels);
- ``NaN`` / ``Infinity`` (not JSON; Python accepts them by default).

Lone UTF-16 surrogates written as escapes (``"\\ud800"``: a platform truncating an emoji mid-pair)
decode to text that cannot be encoded again; they are replaced with U+FFFD so the message is kept
rather than refused or stuck in retries.
"""

from __future__ import annotations

import json
import re
from typing import Any

from carehooks.web.errors import MalformedBodyError

MAX_DEPTH = 32
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def load_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, or :class:`MalformedBodyError` with a short reason."""
    try:
        # Decoded strictly first: json.loads(bytes) would let UTF-8-encoded surrogates through.
        body = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except RecursionError as exc:
        raise MalformedBodyError("body is nested too deeply") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedBodyError("body is not JSON") from exc
    if not isinstance(body, dict):
        raise MalformedBodyError("body is not a JSON object")
    document: dict[str, Any] = body
    # Only bodies with enough brackets can be too deep, and only escapes can carry a lone surrogate.
    if raw.count(b"{") + raw.count(b"[") > MAX_DEPTH or b"\\u" in raw:
        document = _checked(document)
    return document


def _checked(body: dict[str, Any]) -> dict[str, Any]:
    """Depth check and surrogate repair in one iterative walk (no recursion on hostile input)."""
    needs_repair = False
    stack: list[tuple[Any, int]] = [(body, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise MalformedBodyError(f"body is nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, dict):
            for key, value in node.items():
                needs_repair = needs_repair or bool(_LONE_SURROGATE.search(key))
                stack.append((value, depth + 1))
        elif isinstance(node, list):
            stack.extend((value, depth + 1) for value in node)
        elif isinstance(node, str) and _LONE_SURROGATE.search(node):
            needs_repair = True
    return _repaired(body) if needs_repair else body


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
