"""``python -m tests.load``: start the local stack on 127.0.0.1, send the load, print the figures.

Exits 0 when nothing was lost, nothing stored twice and no webhook got a 5xx (or a dropped
connection) within the deadline; 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tests.load.run import LoadConfig, run_load


def parse(argv: list[str]) -> tuple[LoadConfig, argparse.Namespace]:
    parser = argparse.ArgumentParser(prog="python -m tests.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000, help="unique messages (default %(default)s)")
    parser.add_argument("--senders", type=int, default=20, help="concurrent senders (default %(default)s)")
    parser.add_argument("--customers", type=int, help="distinct customers (default: messages / 4)")
    parser.add_argument(
        "--duplicates", type=float, default=0.10, help="share redelivered (default %(default)s)"
    )
    parser.add_argument(
        "--deadline", type=float, default=600.0, help="seconds for everything (default %(default)s)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=4, help="execution environments per function (default %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=10, help="seed of the redelivery plan")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.messages < 1 or args.senders < 1 or not 0 <= args.duplicates <= 1 or args.deadline <= 0:
        parser.error("--messages and --senders must be positive, --duplicates in 0..1, --deadline > 0")
    config = LoadConfig(
        messages=args.messages,
        senders=args.senders,
        customers=args.customers,
        duplicate_rate=args.duplicates,
        deadline_seconds=args.deadline,
        concurrency=args.concurrency,
        seed=args.seed,
    )
    return config, args


def main(argv: list[str]) -> int:
    config, args = parse(argv)
    print(
        f"load: {config.messages} messages, {config.senders} senders, {config.customer_count()} customers, "
        f"{config.duplicate_rate:.0%} redelivered, deadline {config.deadline_seconds:.0f} s",
        flush=True,
    )
    report, _ = run_load(config)
    print(report.text())
    if args.json:
        args.json.write_text(json.dumps(report.as_dict(), indent=2) + "\n", encoding="utf-8")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
