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


def test_slugs_of_plain_titles_are_python_slugifys() -> None:
    """The ASCII fast path of slug_of makes python-slugify's slug, on a random corpus
    (apostrophes, digit groups, runs of marks, words over the limit, entity-like text)."""
    import random

    from slugify import slugify

    from gittask.workflow.branches import SLUG_MAX, slug_of

    def expected(title: str) -> str:
        slug = slugify(title, max_length=SLUG_MAX, word_boundary=True, save_order=True)
        return slug or slugify(title)[:SLUG_MAX].strip("-")

    rng = random.Random(14)
    alphabet = "abcXYZ 0123456789,,''--__..:;!?()/#é&"
    for _ in range(20_000):
        words = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 15))) for _ in "xyz"]
        title = " ".join(words[: rng.randint(1, 3)])
        assert slug_of(title) == expected(title), title
    assert slug_of("Fix the parser's 1,000 bugs") == "fix-the-parser-s-1000-bugs"
