"""Entry point of the carehooks command line. Each command group registers itself from its module."""

from __future__ import annotations

import argparse
import importlib
import sys

# Each module defines ``register(subparsers)`` adding its commands with ``set_defaults(func=...)``.
COMMAND_MODULES = [
    "infra.cli.replay",
    "infra.cli.config",
    "infra.cli.rules",
    "infra.cli.dlq",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="carehooks", description="carehooks command line")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
