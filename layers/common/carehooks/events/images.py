"""DynamoDB JSON (a stream record's images) to plain values, without boto3: the derivation stays pure."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any


def plain_image(image: dict[str, Any] | None) -> dict[str, Any] | None:
    """An item image (``{"attr": {"S": "..."}}``) as plain Python values; None stays None."""
    if image is None:
        return None
    return {name: plain_value(value) for name, value in image.items()}


def plain_value(value: dict[str, Any]) -> Any:  # noqa: PLR0911 - one answer per DynamoDB type
    """One attribute value: numbers become int (or float), sets become sorted lists.

    An empty value is an empty map: botocore parses ``{"M": {}}`` to ``{}`` (a reader of the Streams
    API, such as the local stack's poller, passes it on so).
    """
    if not value:
        return {}
    ((kind, raw),) = value.items()
    if kind == "S":
        return str(raw)
    if kind == "N":
        return _number(str(raw))
    if kind == "BOOL":
        return bool(raw)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: plain_value(v) for k, v in raw.items()}
    if kind == "L":
        return [plain_value(v) for v in raw]
    if kind == "SS":
        return sorted(str(v) for v in raw)
    if kind == "NS":
        return sorted(_number(str(v)) for v in raw)
    if kind == "B":
        return raw if isinstance(raw, bytes) else base64.b64decode(raw)
    if kind == "BS":
        return [v if isinstance(v, bytes) else base64.b64decode(v) for v in raw]
    raise ValueError(f"unknown DynamoDB type {kind!r}")


def _number(text: str) -> int | float:
    number = Decimal(text)
    return int(number) if number == number.to_integral_value() else float(number)
