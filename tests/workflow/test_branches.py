"""Branch names derived from a task's title."""

from __future__ import annotations

import pytest

from gittask.workflow.branches import SLUG_MAX, check_branch_name, suggest_branch

TASK_ID = "3f2a9c1e77aa4d1b9c0e5f6a7b8c9d0e"


@pytest.mark.parametrize(
    ("description", "branch"),
    [
        # the title, not the body
        ("Fix the login bug\n\nIt fails on empty passwords.", "claude/fix-the-login-bug-3f2a9c1e"),
        ("# Émoji support\n", "claude/emoji-support-3f2a9c1e"),  # transliterated, not dropped
        ("Straße über Ärger", "claude/strasse-uber-arger-3f2a9c1e"),
        ("\n\n   \n## Heading after blanks\nbody", "claude/heading-after-blanks-3f2a9c1e"),
        ("!!! ???", "claude/task-3f2a9c1e"),  # nothing left: a neutral word
    ],
)
def test_branch_from_title(description: str, branch: str) -> None:
    assert suggest_branch(description, TASK_ID) == branch


def test_a_long_title_is_cut_at_a_word_boundary() -> None:
    title = "Refactor the configuration loader so that it validates every key"
    branch = suggest_branch(title, TASK_ID)
    slug = branch.removeprefix("claude/").removesuffix("-3f2a9c1e")
    assert len(slug) <= SLUG_MAX
    assert title.lower().replace(" ", "-").startswith(slug + "-")  # whole words only
    assert branch.endswith("-" + TASK_ID[:8])  # the short id is kept
    check_branch_name(branch)


def test_one_endless_word_is_still_cut() -> None:
    branch = suggest_branch("x" * 300, TASK_ID)
    assert branch == f"claude/{'x' * SLUG_MAX}-{TASK_ID[:8]}"
