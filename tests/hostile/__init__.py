"""Hostile cases, one file per threat (issue 11).

- ``test_records.py``: task records a teammate or a remote can produce that
  would make a reader do unbounded work (a "billion laughs" of YAML aliases,
  nesting a million levels deep, a record of many megabytes): refused as
  unreadable, with their path, while the rest lists; `task sync` refuses them.
- ``test_read_only.py``: reading tasks without write access (a read-only
  ``.git``, a full disk) and finding the repository as git does (``GIT_DIR``).
- ``test_odd_input.py``: odd command-line input (bytes that are not UTF-8, NUL
  and control characters, over-long or invalid branch names, huge
  descriptions): one error line, exit 1 or 2, nothing changed.
- ``test_egress.py``: an agent reaching out (the real Claude Code and Codex in
  the real image): only the model API and ``network.allow`` answer, through
  the run's proxy; anything else is refused and logged, a program ignoring the
  proxy finds no network, and the run completes.
"""
