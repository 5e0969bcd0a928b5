"""No module over 400 lines, and no function over 60 lines without a reason.

A function's length is counted from its ``def`` line to its last line (signature,
docstring and body; decorators not). A long function that should stay whole says
why in a comment on its ``def`` line or on the line just above it (above its
decorators, or between them and the ``def``)::

    # long: one reviewed table of every hardening flag; split, it would hide one
    def container_spec(...):

Run ``python -m tests.test_sizes`` for the table of the longest modules and
functions (the limits, and how close each is).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.paths import ROOT

PACKAGE = ROOT / "gittask"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
ALLOW = re.compile(r"#\s*long:\s*\S")  # "# long: <reason>"


@dataclass(frozen=True)
class Function:
    path: Path
    name: str  # qualified: Class.method, outer.inner
    line: int  # of the def
    lines: int
    allowed: bool  # a "# long: reason" comment says why


def _rel(path: Path) -> str:
    return str(path.relative_to(PACKAGE.parent))


def module_lengths() -> dict[Path, int]:
    return {
        p: len(p.read_text(encoding="utf-8").splitlines()) for p in sorted(PACKAGE.rglob("*.py"))
    }


def _allowed(source: list[str], node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    # the def line, the decorators, the line above them
    candidates = range(max(first - 2, 0), node.lineno)
    return any(ALLOW.search(source[i]) for i in candidates)


def functions(path: Path) -> Iterator[Function]:
    text = path.read_text(encoding="utf-8")
    source = text.splitlines()

    def walk(node: ast.AST, prefix: str) -> Iterator[Function]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = prefix + child.name
                end = child.end_lineno or child.lineno
                yield Function(
                    path, name, child.lineno, end - child.lineno + 1, _allowed(source, child)
                )
                yield from walk(child, name + ".")
            elif isinstance(child, ast.ClassDef):
                yield from walk(child, prefix + child.name + ".")
            else:
                yield from walk(child, prefix)

    yield from walk(ast.parse(text, str(path)), "")


def all_functions() -> list[Function]:
    return [f for p in sorted(PACKAGE.rglob("*.py")) for f in functions(p)]


def test_no_module_over_the_limit() -> None:
    over = [f"{_rel(p)}: {n} lines" for p, n in module_lengths().items() if n > MAX_MODULE_LINES]
    assert not over, f"split along their concerns (limit {MAX_MODULE_LINES}):\n" + "\n".join(over)


def test_no_long_function_without_a_reason() -> None:
    over = [
        f"{_rel(f.path)}:{f.line} {f.name}: {f.lines} lines"
        for f in all_functions()
        if f.lines > MAX_FUNCTION_LINES and not f.allowed
    ]
    assert not over, (
        f"shorten (limit {MAX_FUNCTION_LINES} lines), or say why not in a '# long: <reason>' "
        "comment on or just above the def:\n" + "\n".join(over)
    )


def test_the_checks_can_fail(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    body = "".join(f"    x = {i}\n" for i in range(60))
    sample.write_text(
        f"def long_one():\n{body}\n\n"
        f"# long: a reason\ndef allowed_one():\n{body}\n\n"
        f"class K:\n    @staticmethod\n    def short():  # long: said anyway\n        pass\n"
    )
    found = {f.name: (f.lines, f.allowed) for f in functions(sample)}
    assert found == {"long_one": (61, False), "allowed_one": (61, True), "K.short": (2, True)}


def main() -> None:
    """The longest modules and functions, against the limits."""
    print(f"{'lines':>6}  module (limit {MAX_MODULE_LINES})")
    for path, n in sorted(module_lengths().items(), key=lambda x: -x[1])[:12]:
        print(f"{n:>6}  {_rel(path)}")
    print(f"\n{'lines':>6}  function (limit {MAX_FUNCTION_LINES}; * has a '# long:' reason)")
    for f in sorted(all_functions(), key=lambda f: -f.lines)[:20]:
        mark = "*" if f.allowed else " "
        print(f"{f.lines:>6}{mark} {_rel(f.path)}:{f.line} {f.name}")


if __name__ == "__main__":
    main()
