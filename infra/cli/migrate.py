"""``carehooks migrate``: upgrade a deployed table's data model v1 items to v2 (issue 14).

Run it once the code that reads both versions is deployed (README, "Data model v2: migrating a deployed
table"); dry run first. It is idempotent (a v2 item is left alone), resumable (a checkpoint item in the
table, pk ``MIGRATION#v2``; ``--restart`` ignores it) and rate-limited (``--max-wcu`` write units a
second). What it changes, and why a live write is never overwritten: :mod:`carehooks.store.migrate`.

Which table: ``--table``; else ``--stack-name`` (the stack's output ``TableName``); else ``--local``: the
running local stack's table in its DynamoDB Local (endpoint from ``--endpoint-url``, ``AWS_ENDPOINT_URL``
or ``.local/endpoints.json``).

```bash
carehooks migrate --stack-name carehooks --dry-run
carehooks migrate --stack-name carehooks --max-wcu 200
carehooks migrate --local
```
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from infra.cli.dlq import local_endpoint, stack_outputs

TABLE_OUTPUT = "TableName"
TABLE_RESOURCE = "Table"


def local_table_name() -> str:
    """The table's name in the local stack (as ``infra.local.aws.plan_attributes`` names it)."""
    from infra.local.settings import load
    from infra.template import resources

    props = resources()[TABLE_RESOURCE].get("Properties") or {}
    return str(props.get("TableName") or f"{load().stack_name}-{TABLE_RESOURCE}")


def resolve(args: argparse.Namespace, client_factory: Any = None) -> tuple[Any, str]:
    """A DynamoDB client and the table the flags point at."""
    import boto3

    factory = client_factory or boto3.client
    endpoint: str | None = args.endpoint_url
    region: str | None = args.region
    if args.local:
        from infra.local.aws import DUMMY_CREDENTIALS
        from infra.local.settings import load

        client = factory(
            "dynamodb",
            endpoint_url=local_endpoint(endpoint, "dynamodb"),
            region_name=region or load().region,
            aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        return client, args.table or local_table_name()
    options = {k: v for k, v in (("endpoint_url", endpoint), ("region_name", region)) if v}
    table = args.table
    if not table:
        if not args.stack_name:
            raise SystemExit("give --table, or --stack-name, or --local")
        cloudformation_options = {"region_name": region} if region else {}
        (table,) = stack_outputs(
            args.stack_name, factory("cloudformation", **cloudformation_options), TABLE_OUTPUT
        )
    return factory("dynamodb", **options), table


def run(args: argparse.Namespace, client: Any = None, table: str | None = None) -> int:
    from carehooks.store.migrate import Migration  # importable: main() put the layer on the path

    if client is None or table is None:
        client, table = resolve(args)
    if args.max_wcu <= 0:
        raise SystemExit("--max-wcu must be positive")
    migration = Migration(
        client,
        table,
        dry_run=args.dry_run,
        restart=args.restart,
        max_wcu=args.max_wcu,
        page_size=args.page_size,
        max_pages=args.max_pages,
        say=print,
    )
    print(f"{'dry run on' if args.dry_run else 'migrating'} {table} (data model v1 -> v2)")
    counts = migration.run()
    print(counts.summary(args.dry_run))
    for line in counts.refused:
        print(f"refused: {line}", file=sys.stderr)
    for key in counts.gave_up:
        print(f"gave up (run again): {key}", file=sys.stderr)
    if not migration.finished:
        print("stopped before the end of the table: run again to resume from the checkpoint")
    elif not args.dry_run:
        print("pass complete")
    return 1 if counts.refused or counts.gave_up else 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "migrate",
        help="upgrade the table's data model v1 items to v2 (idempotent, resumable, rate-limited)",
        description=__doc__.split("\n\n", 1)[0] if __doc__ else None,
    )
    parser.add_argument("--dry-run", action="store_true", help="count what would change; write nothing")
    parser.add_argument("--restart", action="store_true", help="ignore the checkpoint: scan from the start")
    parser.add_argument(
        "--max-wcu", type=float, default=100.0, help="write units a second at most (default %(default)g)"
    )
    parser.add_argument(
        "--page-size", type=int, default=200, help="items per scan page (default %(default)s)"
    )
    parser.add_argument(
        "--max-pages", type=int, default=None, help="stop after N scan pages (the next run resumes)"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--local", action="store_true", help="the running local stack (make run)")
    where.add_argument("--stack-name", help="read the table name from this CloudFormation stack's outputs")
    where.add_argument("--table", help="the table's name")
    parser.add_argument("--endpoint-url", help="a DynamoDB endpoint (DynamoDB Local, a test server)")
    parser.add_argument("--region", help="AWS region (default: the environment's)")
    parser.set_defaults(func=run)
