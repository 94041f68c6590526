"""The folder tree of ``flows/`` is its layers: the flows at the top, then
``stages``, ``checks``, ``store``, ``runtime``, ``report``, ``sources``,
``admin`` and ``ui``. These tests read the imports of every module (at
module level and inside functions) and check the two rules the layout
stands on: no module imports itself back through others (no cycle), and
the lower layers do not reach up — a source kind reads and stages its
input and knows nothing of the stages, checks or flows that use it; the
report renders what it is given."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.pure

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"openbooks.flows": ROOT / "flows", "openbooks.transforms": ROOT / "transforms",
            "openbooks.expectations": ROOT / "expectations", "openbooks": ROOT / "openbooks"}

# layer → the layers of openbooks.flows it must not import
FORBIDDEN = {
    "sources": {"stages", "checks", "runtime", "report", "admin", "ui", "<flows>"},
    "store": {"sources", "stages", "checks", "runtime", "report", "admin", "ui", "<flows>"},
    "report": {"stages", "checks", "runtime", "admin", "ui", "<flows>"},
    "checks": {"stages", "report", "admin", "ui", "<flows>"},
    "stages": {"admin", "ui", "<flows>"},
}


def module_files() -> dict[str, Path]:
    found = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            if package == "openbooks" and parts and parts[0] in {"flows", "transforms", "expectations"}:
                continue
            name = ".".join((package, *parts))
            found[name.removesuffix(".__init__")] = path
    return found


def imports_of(path: Path, name: str, modules: set[str]) -> set[str]:
    """The openbooks modules ``path`` imports (a ``from package import module`` as that module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in modules}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                if full in modules:
                    found.add(full)
                elif base in modules:
                    found.add(base)
    return found - {name}


def graph() -> dict[str, set[str]]:
    files = module_files()
    modules = set(files)
    return {name: imports_of(path, name, modules) for name, path in files.items()}


def layer_of(module: str) -> str | None:
    if not module.startswith("openbooks.flows."):
        return None
    rest = module.removeprefix("openbooks.flows.").split(".")
    return rest[0] if len(rest) > 1 or (ROOT / "flows" / rest[0]).is_dir() else "<flows>"


def test_no_module_imports_itself_back():
    edges = graph()
    cycles, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(path[path.index(nxt):] + [nxt]) if nxt in path else f"{node} -> {nxt}")
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert not cycles, "\n".join(cycles)


def test_lower_layers_do_not_reach_up():
    wrong = []
    for module, imported in graph().items():
        forbidden = FORBIDDEN.get(layer_of(module) or "", set())
        wrong += [f"{module} imports {other}" for other in sorted(imported) if layer_of(other) in forbidden]
    assert not wrong, "\n".join(wrong)


def test_flows_top_level_holds_only_flows():
    """What is not a flow or a command's entry lives in a layer's folder."""
    top = sorted(p.stem for p in (ROOT / "flows").glob("*.py") if p.stem != "__init__")
    assert top == ["backfill", "daily", "range_books", "serve"], top


def test_the_report_renders_and_neither_queries_nor_posts():
    """The report is given its tables (``flows/store/published.py`` reads them)
    and writes files; it writes no SQL and sends nothing over the network."""
    wrong = []
    for path in sorted((ROOT / "flows" / "report").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for sign in ("SELECT ", ".execute(", "urllib.request", "http.client", "httpx", "post_webhook"):
            if sign in text:
                wrong.append(f"{path.relative_to(ROOT)}: {sign.strip()}")
    assert not wrong, "\n".join(wrong)
