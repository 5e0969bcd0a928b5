"""The ``fake_openai`` pytest fixture (registered in ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fake_openai.server import FakeOpenAI

#: The key the fixture's server accepts (any other key gets a 401).
TEST_OPENAI_KEY = "sk-proj-test-0123456789abcdef"


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A started :class:`FakeOpenAI` accepting :data:`TEST_OPENAI_KEY`, stopped afterwards.

    Teardown fails the test if a request found no answer left in the script or
    the server hit a bug of its own.
    """
    server = FakeOpenAI(api_key=TEST_OPENAI_KEY).start()
    try:
        yield server
    finally:
        server.stop()
    if server.problems:
        pytest.fail("fake OpenAI server:\n" + "\n".join(server.problems))
