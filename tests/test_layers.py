"""The package's layers: no import cycles (imports inside functions count), and the
environments know nothing of configs, wrappers or agents."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "rltutorial"


def _modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package."""
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    return modules


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Package modules that ``name`` imports anywhere in its file (functions too)."""

    def resolve(target: str) -> str | None:
        while target and target not in modules:
            target = target.rpartition(".")[0]
        return target or None

    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            if target.split(".")[0] == "rltutorial":
                module = resolve(target)
                if module and module != name and not name.startswith(module + "."):
                    found.add(module)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """Modules that ``start`` imports, directly or through others."""
    seen: set[str] = set()
    todo = list(graph[start])
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(graph[node])
    return seen


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Groups of modules that import each other around a loop."""
    reach = {node: _reachable(graph, node) for node in graph}
    groups = {
        tuple(sorted(m for m in graph if m in reach[node] and node in reach[m]))
        for node in graph
        if node in reach[node]
    }
    return sorted(list(group) for group in groups)


def test_no_import_cycles():
    """No two modules import each other, directly or around a loop, even lazily."""
    graph = _graph()
    assert len(graph) > 40
    assert _cycles(graph) == []


def test_cycle_finder_finds_a_planted_cycle():
    """The check itself works: a loop through three modules is reported."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_environments_know_nothing_of_configs_wrappers_or_agents():
    """rltutorial.envs imports no config, make, wrappers, observability or agents."""
    forbidden = (
        "rltutorial.config",
        "rltutorial.make",
        "rltutorial.wrappers",
        "rltutorial.observability",
        "rltutorial.agents",
        "rltutorial.evaluation",
    )
    for name, imported in _graph().items():
        if name.startswith("rltutorial.envs"):
            bad = sorted(m for m in imported if m.startswith(forbidden))
            assert bad == [], f"{name} imports {bad}"


def test_config_is_plain_data():
    """rltutorial.config names registries but builds no environment or agent."""
    imported = _graph()["rltutorial.config"]
    assert not {"rltutorial.make", "rltutorial.wrappers"} & imported
    assert not any(
        m.startswith(("rltutorial.agents", "rltutorial.evaluation")) for m in imported
    )
