"""The package's shape: sub-packages are layers, imports run one way (down), and nothing cycles.

The layer order is the README's Architecture section; a module may import its own layer or any
layer below it. Imports inside functions count too: a lazy import still ties two modules.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "optimizer"

# bottom to top; a module of layer i may import layers 0..i
LAYERS = (
    ("foundation", ("optimizer.errors", "optimizer.datafiles", "optimizer.outdir", "optimizer.progress")),
    ("policy", ("optimizer.policy",)),
    ("inputs", ("optimizer.inputs",)),
    ("model", ("optimizer.model",)),
    ("solvers", ("optimizer.solvers",)),
    ("results", ("optimizer.results",)),
    ("analysis", ("optimizer.analysis",)),
    ("planner", ("optimizer.planner",)),
    ("io", ("optimizer.io",)),
    ("batch", ("optimizer.batch",)),
    ("bench", ("optimizer.bench",)),
)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported(path: Path, name: str, known: set[str]) -> set[str]:
    """The package modules a file imports (absolute or relative, at any depth in the file)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        else:
            continue
        for t in targets:
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t and t != name:
                out.add(t)
    return out


def layer_of(name: str) -> int | None:
    for i, (_, prefixes) in enumerate(LAYERS):
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            return i
    return None


GRAPH = {name: imported(path, name, set(modules())) for name, path in modules().items()}


def test_every_module_has_a_layer():
    homeless = [m for m in GRAPH if m != "optimizer" and layer_of(m) is None]
    assert not homeless, f"modules outside every documented layer: {homeless}"


@pytest.mark.parametrize("name", sorted(m for m in GRAPH if m != "optimizer"))
def test_imports_run_down(name):
    """A module imports only its own layer or the layers below it (never the package face)."""
    mine = layer_of(name)
    upward = sorted(t for t in GRAPH[name] if t == "optimizer" or (layer_of(t) or 0) > mine)
    assert not upward, f"{name} (layer {LAYERS[mine][0]}) imports upward: {upward}"


def test_no_import_cycle():
    seen: dict[str, int] = {}      # 1 visiting, 2 done
    stack: list[str] = []

    def visit(m: str) -> None:
        seen[m] = 1
        stack.append(m)
        for t in sorted(GRAPH[m]):
            if seen.get(t) == 1:
                raise AssertionError(f"import cycle: {' -> '.join(stack[stack.index(t):] + [t])}")
            if t not in seen:
                visit(t)
        stack.pop()
        seen[m] = 2

    for m in sorted(GRAPH):
        if m not in seen:
            visit(m)


def test_the_readme_shows_the_same_layers():
    """README's Architecture table lists the layers in the order enforced here."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Architecture", 1)[1].split("\n## ", 1)[0]
    positions = [section.find(f"`{prefixes[0].replace('.', '/')}") for _, prefixes in LAYERS]
    assert -1 not in positions, [LAYERS[i][0] for i, p in enumerate(positions) if p == -1]
    assert positions == sorted(positions), "README lists the layers in another order"
