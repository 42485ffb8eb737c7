"""Read template.yaml: the one description of the deployment, also used by the local stack and tests."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """A YAML loader that turns CloudFormation short-form tags (!Ref, !GetAtt, …) into long form."""


def _construct_tag(loader: _CfnLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template as a dict with CloudFormation functions in long form."""
    with path.open(encoding="utf-8") as handle:
        data = yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 (SafeLoader subclass)
    assert isinstance(data, dict)
    return data


@cache
def template() -> dict[str, Any]:
    return load()


def resources(kind: str | None = None) -> dict[str, dict[str, Any]]:
    """Resources of the template, optionally only those of one type."""
    found: dict[str, dict[str, Any]] = template()["Resources"]
    return {k: v for k, v in found.items() if kind is None or v["Type"] == kind}


def table_create_kwargs(logical_id: str, table_name: str, stream: bool = False) -> dict[str, Any]:
    """``CreateTable`` arguments equivalent to the template's table (keys, indexes, on-demand).

    ``stream``: with the template's stream too (domain events read it); off by default, so tests that
    do not publish events do not pay for the stream records.
    """
    props = resources()[logical_id]["Properties"]
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if props.get("LocalSecondaryIndexes"):
        kwargs["LocalSecondaryIndexes"] = props["LocalSecondaryIndexes"]
    if props.get("GlobalSecondaryIndexes"):
        kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    view = (props.get("StreamSpecification") or {}).get("StreamViewType")
    if stream and view:
        kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": view}
    return kwargs


def ttl_attribute(logical_id: str) -> str | None:
    spec = resources()[logical_id]["Properties"].get("TimeToLiveSpecification") or {}
    return spec.get("AttributeName") if spec.get("Enabled") else None
