"""``task search QUERY [--json]`` without typer or pygit2."""

from __future__ import annotations

#: up to this many hits, each short id is worked out from its neighbours in the index;
#: more, from all the ids at once
NEIGHBOURS_MAX = 64


def search_options(args: list[str]) -> tuple[str, bool] | None:
    """(query, --json), or None for anything else (typer says what)."""
    words = [a for a in args if not a.startswith("-")]
    flags = [a for a in args if a.startswith("-")]
    if len(words) != 1 or any(f != "--json" for f in flags):
        return None
    query = words[0]
    if not query.strip() or any("\ud800" <= c <= "\udfff" for c in query):
        return None  # empty, or not UTF-8: the typer command says so
    return query, "--json" in flags


def search_tasks(query: str, as_json: bool) -> bool:
    """``task search`` on a current index, as :func:`gittask.cli.browse.search` prints it;
    False when the index is not provably current (the typer path brings it up to date)."""
    from gittask.cli.fast.common import current_index

    index = current_index()
    if index is None:
        return False
    from gittask.cli.listing import print_hits
    from gittask.model.ids import longer_short_ids, short_ids

    hits = index.search(query)
    if len(hits) <= NEIGHBOURS_MAX:  # a short id depends on the ids just before and after it
        short = {}
        for row, _ in hits:
            near = short_ids([row.id, *index.neighbours(row.id)])[row.id]
            if near != row.id[:8]:
                short[row.id] = near
    else:
        short = longer_short_ids(index.ids())
    print_hits(hits, short, query, as_json)
    return True
