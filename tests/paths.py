"""Where things are, for test files at any depth below tests/ (and for benchmarks)."""

from __future__ import annotations

from pathlib import Path

#: The tests folder.
TESTS = Path(__file__).resolve().parent
#: The project root (the folder holding ``gittask/``).
ROOT = TESTS.parent
#: Recorded agent output and other data files.
FIXTURES = TESTS / "fixtures"
