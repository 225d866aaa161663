"""The package's shape: modules small enough to read, and a simulator without import cycles."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import hotline

PACKAGE = Path(hotline.__file__).parent
#: a module longer than this holds more than one job (split it along its seams)
MAX_LINES = 600


def _imports(path: Path, package: str) -> set[str]:
    """Modules of ``package`` that ``path`` imports, including under ``TYPE_CHECKING``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == package:  # from hotline.sim import events
                found.update(f"{package}.{alias.name}" for alias in node.names)
            elif node.module.startswith(package + "."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith(package + "."))
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (as a path that ends where it starts), or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def test_no_module_is_over_600_lines() -> None:
    sizes = {
        str(path.relative_to(PACKAGE.parent)): len(path.read_text(encoding="utf-8").splitlines())
        for path in PACKAGE.rglob("*.py")
    }
    assert len(sizes) > 50  # the walk found the package
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


def test_the_simulator_has_no_import_cycle() -> None:
    package = "hotline.sim"
    graph = {
        f"{package}.{path.stem}": _imports(path, package)
        for path in (PACKAGE / "sim").glob("*.py")
        if path.stem != "__init__"
    }
    assert "hotline.sim.legs" in graph["hotline.sim.caller_leg"]  # edges are seen
    assert _cycle(graph) is None


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_ami_layer_knows_no_application() -> None:
    """hotline/ami speaks AMI; settings and licensing are wired next to the runtime."""
    imported = {
        f"{path.name}: {module}"
        for path in (PACKAGE / "ami").glob("*.py")
        for module in _imports(path, "hotline")
        if module.startswith(("hotline.config", "hotline.licensing"))
    }
    assert _imports(PACKAGE / "ami_wiring.py", "hotline") >= {"hotline.config"}  # edges are seen
    assert imported == set()


REPO = PACKAGE.parent
#: what a reference to something outside the repository looks like
_OUTSIDE = re.compile(r"DESIGN\.md|shared/|finding [0-9]")


def test_docs_and_code_point_only_into_the_repository() -> None:
    files = [*PACKAGE.rglob("*.py"), *(REPO / "docs").rglob("*.md"), REPO / "README.md"]
    outside = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in files
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if _OUTSIDE.search(line)
    ]
    assert len(files) > 50
    assert outside == []


def test_every_recording_is_described() -> None:
    folders = sorted(REPO.glob("tests/*/recordings"))
    assert len(folders) == 3
    for folder in folders:
        readme = (folder / "README.md").read_text(encoding="utf-8")
        stems = {p.name.rsplit(".", 1)[0] for p in folder.iterdir() if p.name != "README.md"}
        assert stems
        assert {stem for stem in stems if f"`{stem}`" not in readme} == set(), folder
