"""The floors hold: read from the source, every import counts (inside functions and under TYPE_CHECKING).

``make lint`` runs the import-linter contracts of pyproject.toml (layers, independent platforms, no cycle
between infra modules). These tests check what a contract does not say: no cycle between the package's
top-level parts or between infra modules (also through function-level imports), a small, explained
budget of imports inside functions, and thin handlers.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "layers" / "common" / "carehooks"
INFRA = ROOT / "infra"
MAX_FUNCTION_IMPORTS = 30
MAX_HANDLER_LINES = 40

# Every import of the package inside a function, with the measured reason it is not at module level.
# (module that imports, module imported): reason.
ADAPTER = "an adapter is loaded for the channels a record carries only (about 3 ms each, 13 ms for all six)"
CLIENT = (
    "a client loads requests and urllib3 on the first send only (about 126 ms, near import boto3's 165 ms)"
)
PROCESSOR = (
    "the processor's collaborators (store, derivers, configuration loader, rules engine: about 50 modules) "
    "load on the first record, so its init imports what it did before the floors (26 carehooks modules)"
)
FUNCTION_IMPORTS: dict[tuple[str, str], str] = {
    ("carehooks.channels.registry", "carehooks.channels.instagram.adapter"): ADAPTER,
    ("carehooks.channels.registry", "carehooks.channels.instagram.client"): CLIENT,
    ("carehooks.channels.registry", "carehooks.channels.messenger.adapter"): ADAPTER,
    ("carehooks.channels.registry", "carehooks.channels.messenger.client"): CLIENT,
    ("carehooks.channels.registry", "carehooks.channels.telegram.adapter"): ADAPTER,
    ("carehooks.channels.registry", "carehooks.channels.telegram.client"): CLIENT,
    ("carehooks.channels.registry", "carehooks.channels.twilio.adapter"): ADAPTER,
    ("carehooks.channels.registry", "carehooks.channels.twilio.client"): CLIENT,
    ("carehooks.channels.registry", "carehooks.channels.whatsapp.adapter"): ADAPTER,
    ("carehooks.channels.registry", "carehooks.channels.whatsapp.client"): CLIENT,
    ("carehooks.channels.registry", "carehooks.channels.x.adapter"): ADAPTER,
    ("carehooks.channels.registry", "carehooks.channels.x.client"): CLIENT,
    ("carehooks.wiring.processor", "carehooks.wiring.inbound"): PROCESSOR,
    ("carehooks.wiring.processor", "carehooks.wiring.store"): PROCESSOR,
    ("carehooks.wiring.store", "carehooks.wiring.derivers"): (
        "the SLA and survey derivers (SLA clocks, policies, survey policy) load on the first conversation "
        "write: the survey page, the agent API and the scheduled functions do not pay for them at init"
    ),
    ("carehooks.wiring.config", "carehooks.rules.templates"): (
        "the channels' traits (15 modules) load when a document is first validated, not at every init"
    ),
}


@dataclass(frozen=True)
class Import:
    source: str  # dotted module that imports
    target: str  # dotted module imported (for "from a import b": a.b when that is a module, else a)
    in_function: bool


def _module_name(path: Path, base: Path) -> str:
    parts = list(path.relative_to(base).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules(base: Path, package: Path) -> dict[str, Path]:
    return {_module_name(path, base): path for path in package.rglob("*.py")}


def _imports(base: Path, package: Path) -> Iterator[Import]:
    known = _modules(base, package)
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        in_function: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                in_function.update(
                    id(n) for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom)
                )
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = name.split(".")
                    keep = len(parts) - node.level + (1 if is_package else 0)
                    stem = ".".join(parts[:keep] + ([node.module] if node.module else []))
                else:
                    stem = node.module or ""
                targets = [f"{stem}.{a.name}" if f"{stem}.{a.name}" in known else stem for a in node.names]
            for target in targets:
                yield Import(name, target, id(node) in in_function)


def _part(module: str, depth: int) -> str:
    return ".".join(module.split(".")[:depth])


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def _package_imports() -> list[Import]:
    return [i for i in _imports(PACKAGE.parent, PACKAGE) if i.target.startswith("carehooks")]


def test_no_cycle_between_the_packages_top_level_parts() -> None:
    edges: dict[str, set[str]] = defaultdict(set)
    for found in _package_imports():
        source, target = _part(found.source, 2), _part(found.target, 2)
        if target not in (source, "carehooks"):
            edges[source].add(target)
    assert _cycles(edges) == []


def test_no_cycle_between_infra_modules() -> None:
    edges: dict[str, set[str]] = defaultdict(set)
    for found in _imports(ROOT, INFRA):
        if found.target.startswith("infra.") and found.target != found.source:
            edges[found.source].add(found.target)
    assert _cycles(edges) == []


def test_imports_inside_functions_are_few_and_each_has_its_reason() -> None:
    inside = sorted({(i.source, i.target) for i in _package_imports() if i.in_function})
    assert len(inside) <= MAX_FUNCTION_IMPORTS, inside
    unexplained = [pair for pair in inside if pair not in FUNCTION_IMPORTS]
    assert unexplained == [], "add each with its measured cold-start reason to FUNCTION_IMPORTS"
    stale = [pair for pair in FUNCTION_IMPORTS if pair not in inside]
    assert stale == []


def test_every_handler_is_thin() -> None:
    for app in sorted((ROOT / "functions").glob("*/app.py")):
        tree = ast.parse(app.read_text(encoding="utf-8"))
        docstring = ast.get_docstring(tree)
        lines = [
            line
            for line in app.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.strip().startswith("#")
        ]
        code = len(lines) - (len(docstring.splitlines()) if docstring else 0)
        assert code <= MAX_HANDLER_LINES, f"{app.parent.name}: {code} code lines"
