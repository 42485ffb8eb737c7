"""``carehooks config validate|push|schema``: check, deploy and describe the configuration document.

- ``validate FILE``: parse and validate (the schema, then the checks that need the channels, such as
  acknowledgement texts against each channel's limit); every error is printed with its path and reason
  (exit 1).
- ``push FILE [--parameter NAME]``: validate, then write the SSM parameter the functions read
  (``CONFIG_PARAMETER``, or ``--parameter``). The value is compact JSON; when that is over the standard
  tier's 4 KB it goes to the advanced tier (8 KB), and over that it is gzip-compressed.
- ``schema [--check]``: write the JSON Schema of the document to ``carehooks/config/schema.json``, for
  editors (``# yaml-language-server: $schema=...``); ``--check`` only reports drift (exit 1).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "common"
SCHEMA_PATH = LAYER / "carehooks" / "config" / "schema.json"
STANDARD_LIMIT = 4096
ADVANCED_LIMIT = 8192


def ensure_package() -> None:
    """Make the ``carehooks`` package (the layer) importable from the repository."""
    if str(LAYER) not in sys.path:
        sys.path.insert(0, str(LAYER))


def schema_text() -> str:
    """The JSON Schema of the configuration document, as written to ``schema.json``."""
    ensure_package()
    from carehooks.config.document import ConfigDocument

    schema = ConfigDocument.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "carehooks configuration"
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def _load(path: str) -> Any:
    ensure_package()
    from carehooks.config.loader import ConfigError, parse_document
    from carehooks.rules.templates import CHECKS

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        print(f"error: cannot read {path}: {exc}", file=sys.stderr)
        return None
    try:
        return parse_document(text, path, CHECKS)
    except ConfigError as exc:
        print(
            f"{path}: invalid ({len(exc.errors)} error{'s' if len(exc.errors) != 1 else ''})", file=sys.stderr
        )
        for where, reason in exc.errors:
            print(f"  {where}: {reason}", file=sys.stderr)
        return None


def validate(args: argparse.Namespace) -> int:
    document = _load(args.file)
    if document is None:
        return 1
    print(
        f"{args.file}: valid (version {document.version}, digest {document.digest}, "
        f"{len(document.rules)} rules, {len(document.acknowledgement.templates)} templates, "
        f"{len(document.calendars)} calendars)"
    )
    return 0


def parameter_value(document: Any) -> tuple[str, str]:
    """(value, tier) to store for ``document``; raises ValueError when even compressed it is too big."""
    from carehooks.config.loader import document_json, encode_compressed

    value = document_json(document)
    if len(value.encode()) > ADVANCED_LIMIT:
        value = encode_compressed(value)
    size = len(value.encode())
    if size > ADVANCED_LIMIT:
        raise ValueError(f"the document is {size} bytes compressed, over the SSM limit of {ADVANCED_LIMIT}")
    return value, "Standard" if size <= STANDARD_LIMIT else "Advanced"


def push(args: argparse.Namespace, ssm: Any = None) -> int:
    document = _load(args.file)
    if document is None:
        return 1
    name = args.parameter or os.environ.get("CONFIG_PARAMETER", "")
    if not name:
        print("error: give --parameter or set CONFIG_PARAMETER", file=sys.stderr)
        return 2
    try:
        value, tier = parameter_value(document)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if ssm is None:
        import boto3

        ssm = boto3.client("ssm")
    response = ssm.put_parameter(
        Name=name,
        Value=value,
        Type="String",
        Tier=tier,
        Overwrite=True,
        Description=f"carehooks configuration {document.version} ({document.digest})"[:1024],
    )
    print(
        f"pushed {args.file} to {name} (version {document.version}, digest {document.digest}, "
        f"{len(value.encode())} bytes, {tier} tier, parameter version {response.get('Version')}); "
        "functions pick it up within a minute"
    )
    return 0


def schema(args: argparse.Namespace) -> int:
    text = schema_text()
    target = Path(args.out)
    if args.check:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != text:
            print(f"{target} is out of date: run `carehooks config schema`", file=sys.stderr)
            return 1
        print(f"{target} is up to date")
        return 0
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}")
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("config", help="validate, push or describe the configuration document")
    commands = parser.add_subparsers(dest="config_command", required=True)
    check = commands.add_parser("validate", help="validate a configuration file (YAML or JSON)")
    check.add_argument("file")
    check.set_defaults(func=validate)
    send = commands.add_parser("push", help="validate, then write the SSM parameter the functions read")
    send.add_argument("file")
    send.add_argument("--parameter", help="SSM parameter name (default: $CONFIG_PARAMETER)")
    send.set_defaults(func=push)
    describe = commands.add_parser("schema", help="write the JSON Schema for editors")
    describe.add_argument("--out", default=str(SCHEMA_PATH))
    describe.add_argument("--check", action="store_true", help="only report whether the file is up to date")
    describe.set_defaults(func=schema)
