"""``carehooks contact erase|export``: a person's erasure and access rights from the command line.

The same use cases as ``DELETE`` and ``GET …/export`` of ``/api/contacts/{channel}/{account_id}/
{contact_id}`` (``carehooks.archive.privacy``), on the table and the archive the flags point at:
``--local`` (the running local stack: its DynamoDB Local table, ``.local/archive/`` and
``.local/erasure-key``), or ``--stack-name`` (the stack's outputs ``TableName``, ``ArchiveBucketName``
and ``ErasureKeySecretArn``). The export has no size cap here (the API's answer is capped at 4 MB of
archived events).

```bash
carehooks contact export --local messenger 112233445566778 5987263140083395 --out person.json
carehooks contact erase --stack-name carehooks whatsapp 106540352242922 16505551234 --yes
```
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infra.cli.archive import open_archive
from infra.cli.dlq import stack_outputs
from infra.cli.migrate import resolve as resolve_table

KEY_OUTPUT = "ErasureKeySecretArn"


def erasure_key(args: argparse.Namespace, secrets_factory: Any = None) -> str:
    """The deployment's erasure key: ``ERASURE_KEY``, else the local stack's kept key, else the stack's
    generated secret."""
    if os.environ.get("ERASURE_KEY"):
        return os.environ["ERASURE_KEY"]
    if args.local:
        from infra.local.settings import ERASURE_KEY_NAME, load, lookup

        path = load().data_dir / "erasure-key"
        key = lookup(ERASURE_KEY_NAME) or (path.read_text(encoding="utf-8").strip() if path.exists() else "")
        if not key:
            raise SystemExit(
                f"no erasure key: start the local stack once (it makes {path}) or set ERASURE_KEY"
            )
        return key
    if not args.stack_name:
        raise SystemExit("give --local or --stack-name (or set ERASURE_KEY)")
    import boto3

    factory = secrets_factory or boto3.client
    (secret_arn,) = stack_outputs(args.stack_name, factory("cloudformation"), KEY_OUTPUT)
    document = json.loads(factory("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"])
    return str(document["ERASURE_KEY"])


def open_store(args: argparse.Namespace) -> Any:
    from carehooks.store.dynamo import DynamoStore

    client, table = resolve_table(args)
    return DynamoStore(table, client)


def who(args: argparse.Namespace) -> Any:
    from carehooks.api.contacts import identity

    return identity(args.channel, args.account_id, args.contact_id)


def erase_command(
    args: argparse.Namespace, store: Any = None, archive: Any = None, key: str | None = None
) -> int:
    from carehooks.archive.privacy import erase_person

    identity = who(args)
    if not args.yes:
        print(
            f"this erases everything held about {identity.channel} {identity.contact_id}: pass --yes",
            file=sys.stderr,
        )
        return 2
    erased = erase_person(
        store or open_store(args),
        archive or open_archive(args),
        identity,
        datetime.now(UTC),
        key if key is not None else erasure_key(args),
    )
    if erased is None:
        print("nothing is held about this identity", file=sys.stderr)
        return 1
    print(json.dumps(erased.as_dict(), indent=2))
    return 0


def export_command(args: argparse.Namespace, store: Any = None, archive: Any = None) -> int:
    from carehooks.archive.privacy import export_person

    document = export_person(
        store or open_store(args),
        archive or open_archive(args),
        who(args),
        datetime.now(UTC),
        archive_budget=None,
    )
    if document is None:
        print("nothing is held about this identity", file=sys.stderr)
        return 1
    text = json.dumps(document, indent=2, ensure_ascii=False)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        print(text)
    return 0


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("channel", help="messenger, instagram, whatsapp, x, telegram, sms, twilio_whatsapp")
    parser.add_argument("account_id", help="the business account (page, number, bot) id")
    parser.add_argument("contact_id", help="the customer's id on that channel")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--local", action="store_true", help="the running local stack (make run)")
    where.add_argument("--stack-name", help="a deployed stack (its outputs name the table, bucket and key)")
    parser.add_argument("--table", help="the table's name (instead of a stack's output)")
    parser.add_argument("--bucket", help="the archive bucket (instead of a stack's output)")
    parser.add_argument("--endpoint-url", help="a DynamoDB endpoint (DynamoDB Local, a test server)")
    parser.add_argument("--region", help="AWS region (default: the environment's)")


def register(subparsers: Any) -> None:
    contact = subparsers.add_parser("contact", help="a person's data: erase it, export it")
    commands = contact.add_subparsers(dest="contact_command", required=True)
    erase = commands.add_parser("erase", help="erase everything held about one identity (keeps a tombstone)")
    _common(erase)
    erase.add_argument("--yes", action="store_true", help="confirm: the erasure cannot be undone")
    erase.set_defaults(func=erase_command)
    export = commands.add_parser("export", help="everything held about one identity, as one JSON document")
    _common(export)
    export.add_argument("--out", help="write the document to this file (default: standard output)")
    export.set_defaults(func=export_command)
