"""Print template.yaml transformed by the SAM translator (run with the SAM CLI tool's Python).

``sam validate`` translates the template but cannot print the result; this does the same steps: local
code paths become placeholder S3 URIs (as ``sam validate`` does), then ``samtranslator`` expands every
``AWS::Serverless::*`` resource into plain CloudFormation. Usage: ``python transform.py template.yaml``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

CODE_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
    "AWS::Serverless::Api": "DefinitionUri",
    "AWS::Serverless::HttpApi": "DefinitionUri",
    "AWS::Serverless::StateMachine": "DefinitionUri",
}


class _NoManagedPolicies:
    """The translator asks for AWS managed policy ARNs only for policies named by name; none here."""

    def load(self) -> dict[str, str]:
        return {}


def main(path: str) -> None:
    with open(path, encoding="utf-8") as handle:
        template: dict[str, Any] = yaml_parse(handle.read())
    for name, resource in template.get("Resources", {}).items():
        prop = CODE_PROPERTIES.get(resource.get("Type", ""))
        props = resource.setdefault("Properties", {})
        if prop and isinstance(props.get(prop), str) and not props[prop].startswith("s3://"):
            if prop == "CodeUri" and props.get("InlineCode"):
                continue
            props[prop] = f"s3://placeholder-bucket/{name}"
    json.dump(transform(template, {}, _NoManagedPolicies()), sys.stdout, indent=1, default=str)


if __name__ == "__main__":
    main(sys.argv[1])
