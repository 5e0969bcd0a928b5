"""The package's layers point one way, and its import graph has no cycle.

    cli -> workflow -> config -> runner / forge -> store -> model, errors, text, files

A module may import its own layer and the layers below it, never one above;
the CLI talks to ``workflow`` (and the settings, the model and the errors),
never to ``store``, ``runner`` or ``forge`` directly; no module imports or
touches another module's private name. Every import counts: at the top, inside
a function, or only for type checking.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.paths import ROOT

PACKAGE = ROOT / "gittask"
TESTS = ROOT / "tests"

#: Higher imports lower, never the other way round.
RANK = {
    "__main__": 6,
    "cli": 5,
    "workflow": 4,
    "config": 3,
    "runner": 2,
    "forge": 2,
    "store": 1,
    "model": 0,
    "errors": 0,
    "notices": 0,
    "text": 0,
    "display": 0,
    "files": 0,
    "": 0,  # gittask/__init__.py: the version
}
#: What the CLI may import besides itself.
CLI_MAY_USE = {"workflow", "config", "model", "errors", "notices", "text", "display", ""}


@dataclass(frozen=True)
class Import:
    source: str  # the importing module, dotted
    target: str  # the imported module, dotted
    line: int
    names: tuple[str, ...]  # the names taken from it (from X import a, b)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def imports(known: dict[str, Path]) -> Iterator[Import]:
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "gittask":
                        yield Import(name, alias.name, node.lineno, ())
            elif isinstance(node, ast.ImportFrom):
                target = node.module or ""
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join([*base, *([target] if target else [])])
                if target.split(".")[0] != "gittask":
                    continue
                taken = tuple(a.name for a in node.names)
                # `from gittask.runner import live` imports the module gittask.runner.live
                submodules = [f"{target}.{n}" for n in taken if f"{target}.{n}" in known]
                for sub in submodules:
                    yield Import(name, sub, node.lineno, ())
                rest = tuple(n for n in taken if f"{target}.{n}" not in known)
                if rest or not submodules:
                    yield Import(name, target, node.lineno, rest)


def graph() -> tuple[dict[str, Path], list[Import]]:
    known = modules()
    return known, [i for i in imports(known) if i.target in known and i.target != i.source]


def test_every_layer_is_ranked() -> None:
    known, _ = graph()
    assert {layer(m) for m in known} <= set(RANK)


def test_no_upward_import() -> None:
    _, edges = graph()
    upward = [
        f"{e.source}:{e.line} imports {e.target}"
        for e in edges
        if RANK[layer(e.target)] > RANK[layer(e.source)]
    ]
    assert upward == []


def test_the_cli_talks_to_the_workflow_only() -> None:
    _, edges = graph()
    reaching = [
        f"{e.source}:{e.line} imports {e.target}"
        for e in edges
        if layer(e.source) == "cli" and layer(e.target) not in CLI_MAY_USE | {"cli"}
    ]
    assert reaching == []


def test_nothing_imports_a_private_name() -> None:
    _, edges = graph()
    private = [
        f"{e.source}:{e.line} imports {e.target}.{n}"
        for e in edges
        for n in e.names
        if n.startswith("_") and not n.startswith("__")
    ]
    private += [
        f"{e.source}:{e.line} imports {e.target}"
        for e in edges
        if any(p.startswith("_") and not p.startswith("__") for p in e.target.split("."))
    ]
    assert private == []


#: the public API of named tuples, which starts with an underscore
NAMEDTUPLE_API = frozenset({"_make", "_replace", "_asdict", "_fields"})


def test_no_private_attribute_of_another_object() -> None:
    """``x._name`` only on ``self`` or ``cls`` (a module's own privates need no prefix)."""
    found = []
    for name, path in modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and node.attr not in NAMEDTUPLE_API
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
            ):
                found.append(f"{name}:{node.lineno} .{node.attr}")
    assert found == []


def cycles(edges: list[Import]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    out: dict[str, set[str]] = {}
    for e in edges:
        out.setdefault(e.source, set()).add(e.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(out.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                group.append(item)
                if item == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(out):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle() -> None:
    _, edges = graph()
    # a package's __init__ that re-exports its modules is not a cycle with them
    edges = [e for e in edges if not e.source.startswith(e.target + ".")]
    assert cycles(edges) == []


def test_the_checks_can_fail() -> None:
    edges = [
        Import("gittask.store.a", "gittask.store.b", 1, ()),
        Import("gittask.store.b", "gittask.store.a", 1, ()),
        Import("gittask.store.b", "gittask.store.c", 1, ()),
    ]
    assert cycles(edges) == [["gittask.store.a", "gittask.store.b"]]
    assert RANK[layer("gittask.config")] > RANK[layer("gittask.store.sync")]


def test_callers_use_the_database_not_its_parts() -> None:
    """Outside the store, ``db.store`` and ``db.index`` are not reached into."""
    found = []
    for name, path in modules().items():
        if layer(name) == "store":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ("store", "index")
                and (
                    (isinstance(node.value, ast.Name) and node.value.id == "db")
                    or (isinstance(node.value, ast.Attribute) and node.value.attr == "db")
                )
            ):
                found.append(f"{name}:{node.lineno} {ast.unparse(node)}")
    assert found == []


#: The checks of the whole project, the only test files at the root of tests/.
PROJECT_WIDE = frozenset({"test_layers.py", "test_sizes.py", "test_benchmarks.py"})
#: Folders of tests/ that are not the package's: the test doubles, each tested beside
#: itself, and the hostile cases (one file per threat, across the layers).
OWN_FOLDERS = frozenset({"fake_anthropic", "fake_openai", "fake_github", "docker_image", "hostile"})


def misplaced_tests(tests: Path, package: Path) -> list[str]:
    """Test files outside the mirror of the package: ``tests/store/sync/test_x.py``
    needs ``gittask/store/sync/``; the root holds the project-wide checks alone."""
    found = []
    for path in sorted(tests.rglob("test_*.py")):
        folder = path.parent.relative_to(tests)
        where = str(path.relative_to(tests.parent))
        if folder.parts and folder.parts[0] == "fixtures":
            continue
        if not folder.parts:
            if path.name not in PROJECT_WIDE:
                found.append(f"{where}: move it to the tests/ folder of the code it tests")
        elif folder.parts[0] not in OWN_FOLDERS and not (package / folder).is_dir():
            found.append(f"{where}: there is no {package.name}/{folder.as_posix()}/")
        if not (path.parent / "__init__.py").is_file():
            found.append(f"{where}: its folder has no __init__.py")
    return found


def test_the_tests_mirror_the_package() -> None:
    assert misplaced_tests(TESTS, PACKAGE) == []


def test_a_test_outside_the_mirror_is_found(tmp_path: Path) -> None:
    package, tests = tmp_path / "gittask", tmp_path / "tests"
    for folder in (package / "store", tests / "store", tests / "stores", tests / "hostile"):
        folder.mkdir(parents=True)
        (folder / "__init__.py").write_text("")
    (tests / "__init__.py").write_text("")
    (tests / "runner").mkdir()
    for name in (
        "test_sizes.py",
        "test_merge.py",
        "store/test_merge.py",
        "stores/test_x.py",
        "hostile/test_y.py",
        "runner/test_z.py",
    ):
        (tests / name).write_text("")
    assert misplaced_tests(tests, package) == [
        "tests/runner/test_z.py: there is no gittask/runner/",
        "tests/runner/test_z.py: its folder has no __init__.py",
        "tests/stores/test_x.py: there is no gittask/stores/",
        "tests/test_merge.py: move it to the tests/ folder of the code it tests",
    ]
