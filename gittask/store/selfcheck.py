"""The self-checks ``doctor`` runs on what the store derives from the data ref:
the index (every fan-out folder at the ref's version, every task listed) and the
working copy (at the index's tip, every registry file there). Each returns how
they disagree, one line each; an empty list when all is well."""

from __future__ import annotations

import json
from pathlib import Path

from gittask.store import layout
from gittask.store.index import TaskIndex
from gittask.store.taskstore import TaskStore
from gittask.store.trees import subtree
from gittask.store.workcopy import STATE_FILE


def index_disagreements(store: TaskStore, index: TaskIndex) -> list[str]:
    """How the index differs from the data ref's tip (after a refresh), one line each."""
    tip = store.tip()
    root = store.root(tip) if tip is not None else None
    tasks = subtree(store.git, root, layout.TASKS_DIR)
    in_ref: dict[str, tuple[str, set[str]]] = {}
    for fan in tasks or []:
        tree = store.git[fan.id]
        names = {e.name or "" for e in tree} if hasattr(tree, "__iter__") else set()
        in_ref[fan.name or ""] = (str(fan.id), names)
    problems = []
    if index.tip != (str(tip) if tip is not None else ""):
        problems.append("it is not at the data ref's tip")
    indexed_fans = index.fans()
    if set(indexed_fans) != set(in_ref):
        problems.append(f"it knows {len(indexed_fans)} fan-out folders, the ref has {len(in_ref)}")
    stale = [name for name, (oid, _) in in_ref.items() if indexed_fans.get(name) not in (oid, None)]
    if stale:
        problems.append(f"{len(stale)} fan-out folder(s) indexed at an older version")
    ids = set(index.ids())
    wanted = {name for _, names in in_ref.values() for name in names}
    if ids != wanted:
        problems.append(
            f"it lists {len(ids)} task(s), the ref holds {len(wanted)} "
            f"({len(wanted - ids)} missing, {len(ids - wanted)} extra)"
        )
    return problems


def workcopy_disagreements(root: Path, tip: str, fans: set[str]) -> list[str]:
    try:
        state = json.loads((root / STATE_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return ["it was never written"] if fans else []
    except (OSError, ValueError):
        return [f"its {STATE_FILE} is unreadable"]
    problems = []
    if not isinstance(state, dict) or state.get("tip") != tip:
        problems.append("it shows another version of the tasks")
    missing = [fan for fan in fans if not (root / "registry" / f"{fan}.json").is_file()]
    if missing:
        problems.append(f"{len(missing)} registry file(s) missing")
    return problems
