"""Entry point of the carehooks command line. Each command group registers itself from its module.

``main`` is the console script (``[project.scripts] carehooks = "infra.cli.__main__:main"``), and also what
``python -m infra.cli`` and ``scripts/carehooks`` run. It never changes directory: a relative file argument
(``carehooks config validate my.yaml``, ``carehooks replay ./body.json``) names a file from where the
command was typed.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

# Each module defines ``register(subparsers)`` adding its commands with ``set_defaults(func=...)``.
COMMAND_MODULES = [
    "infra.cli.replay",
    "infra.cli.config",
    "infra.cli.rules",
    "infra.cli.dlq",
    "infra.cli.migrate",
    "infra.cli.events",
    "infra.cli.archive",
    "infra.cli.contact",
]

ROOT = Path(__file__).resolve().parents[2]
# The shared package (the Lambda layer's source): importable wherever the command is run from.
LAYER = ROOT / "layers" / "common"


def _importable() -> None:
    for path in (str(ROOT), str(LAYER)):
        if path not in sys.path:
            sys.path.append(path)


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit status (``sys.exit(main())`` in the console script)."""
    _importable()
    parser = argparse.ArgumentParser(prog="carehooks", description="carehooks command line")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
