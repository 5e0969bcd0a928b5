"""The ``fake_anthropic`` pytest fixture (registered in ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fake_anthropic.server import FakeAnthropic

#: The key the fixture's server accepts (any other key gets a 401).
TEST_API_KEY = "sk-ant-test-0123456789abcdef"


@pytest.fixture
def fake_anthropic() -> Iterator[FakeAnthropic]:
    """A started :class:`FakeAnthropic` accepting :data:`TEST_API_KEY`, stopped afterwards.

    Teardown fails the test if a request found no answer left in the script or
    the server hit a bug of its own: every request must have been scripted.
    """
    server = FakeAnthropic(api_key=TEST_API_KEY).start()
    try:
        yield server
    finally:
        server.stop()
    if server.problems:
        pytest.fail("fake Anthropic server:\n" + "\n".join(server.problems))
