"""Run every benchmark module (``tests/bench/*_bench.py``) and print its figures.

Benchmarks print numbers next to their targets; they are not timed tests and never fail the build.
``python -m tests.bench foundation`` runs only the modules whose name contains ``foundation``.
``python -m tests.bench cost`` prints the cost per million inbound messages (``tests/bench/cost.py``, from
``tests/bench/figures.json``); it measures nothing, so it runs only when named.
"""

from __future__ import annotations

import importlib
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
# Sections that are not benchmarks: run only when named exactly.
NAMED_ONLY = ("cost",)


def discover(selected: list[str]) -> list[str]:
    names = sorted(p.stem for p in HERE.glob("*_bench.py"))
    found = [n for n in names if not selected or any(s in n for s in selected)]
    return found + [n for n in NAMED_ONLY if n in selected]


def main(argv: list[str]) -> int:
    for path in (str(ROOT / "layers" / "common"), str(ROOT)):
        if path not in sys.path:
            sys.path.insert(0, path)
    failed = 0
    for name in discover(argv):
        print(f"\n=== {name} " + "=" * max(0, 70 - len(name)), flush=True)
        started = time.perf_counter()
        try:
            importlib.import_module(f"tests.bench.{name}").main()
        except Exception:  # one broken benchmark must not hide the others' figures
            failed += 1
            traceback.print_exc()
        print(f"--- {name}: {time.perf_counter() - started:.1f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
