"""Pytest fixture for the fake GitHub server.

Use it from a test module with::

    from tests.fake_github.fixture import github_server  # noqa: F401

or list ``"tests.fake_github.fixture"`` in ``pytest_plugins`` of the top-level
``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import github
import pytest

from tests.fake_github.server import FakeGitHub


@pytest.fixture
def github_server() -> Iterator[FakeGitHub]:
    """A started :class:`FakeGitHub` on 127.0.0.1:<ephemeral>, stopped afterwards.

    Teardown fails the test if the server hit a bug of its own (HTTP 500 that
    was not injected with ``fail_next``).
    """
    server = FakeGitHub().start()
    try:
        yield server
    finally:
        server.stop()
    errors = server.internal_errors
    if errors:
        pytest.fail("fake GitHub server internal error(s):\n" + "\n".join(errors))


def github_client(server: FakeGitHub, token: str, **kwargs: Any) -> github.Github:
    """A PyGithub client for ``server`` authenticating with ``token``.

    Keyword arguments go to ``github.Github`` (e.g. ``retry=None``,
    ``per_page=100``).  PyGithub throttles by default (0.25 s between requests,
    1 s between writes); here both default to 0 so tests stay fast.  Close the
    client with ``.close()`` when done.
    """
    kwargs.setdefault("seconds_between_requests", 0)
    kwargs.setdefault("seconds_between_writes", 0)
    return github.Github(auth=github.Auth.Token(token), base_url=server.base_url, **kwargs)
