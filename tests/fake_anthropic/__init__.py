"""A scripted Messages-API-compatible server for running the real Claude Code in tests.

::

    from tests.fake_anthropic import FakeAnthropic, text, write

    with FakeAnthropic(api_key="sk-test") as model:
        model.turn(write("{cwd}/hello.py", "print(1)\\n"), text("writing it"))
        model.turn(text("done"))
        # run claude with ANTHROPIC_BASE_URL=model.base_url, ANTHROPIC_API_KEY=sk-test
        assert model.message_requests[-1].tool_results()

The ``fake_anthropic`` pytest fixture (``tests/fake_anthropic/fixture.py``) gives a
started server and fails the test if a request found no scripted answer.
"""

from tests.fake_anthropic.script import (
    Block,
    ErrorReply,
    Hang,
    Turn,
    Usage,
    bash,
    edit,
    read,
    text,
    tool,
    write,
)
from tests.fake_anthropic.server import FakeAnthropic, RecordedRequest

__all__ = [
    "Block",
    "ErrorReply",
    "FakeAnthropic",
    "Hang",
    "RecordedRequest",
    "Turn",
    "Usage",
    "bash",
    "edit",
    "read",
    "text",
    "tool",
    "write",
]
