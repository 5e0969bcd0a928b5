"""The real agent CLIs the tests run on the host, fetched once from the npm registry.

``claude_binary()`` returns the path of the self-contained ``claude`` executable
of ``@anthropic-ai/claude-code`` at :data:`CLAUDE_CODE_TEST_VERSION`, installed
by the product's own host-npm installer (:mod:`gittask.runner.npm_package`,
the one ``build`` uses with ``claude_install = host``) into the test cache
(``tests/real_image.py``: the tests point ``HOME`` at temporary folders). The
first call takes a few seconds; later calls, in this run or the next, reuse it.
"""

from __future__ import annotations

import os
from pathlib import Path

from gittask.errors import GittaskError
from tests.real_image import CACHE_DIR, CLAUDE_CODE_TEST_VERSION

__all__ = ["CLAUDE_CODE_TEST_VERSION", "AgentBinaryUnavailable", "claude_binary"]


class AgentBinaryUnavailable(RuntimeError):
    """The agent CLI could not be installed (no npm, no registry, unknown platform)."""


def claude_binary(version: str = CLAUDE_CODE_TEST_VERSION) -> Path:
    """The path of the real ``claude`` executable at *version*, installing it if needed."""
    from gittask.runner.npm_package import CACHE_ENV
    from gittask.runner.npm_package import claude_binary as install

    previous = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = CACHE_DIR
    try:
        return install(version)
    except GittaskError as exc:
        raise AgentBinaryUnavailable(str(exc)) from None
    finally:
        if previous is None:
            os.environ.pop(CACHE_ENV, None)
        else:
            os.environ[CACHE_ENV] = previous


if __name__ == "__main__":  # python -m tests.agent_binaries: fetch ahead of a test run
    print(claude_binary())
