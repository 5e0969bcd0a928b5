"""A scripted Responses-API-compatible server for running the real Codex CLI in tests.

::

    from tests.fake_openai import FakeOpenAI, shell, text, write

    with FakeOpenAI(api_key="sk-test") as model:
        model.turn(write("hello.py", "print(1)\\n"), text("writing it"))
        model.turn(text("done"))
        # run codex exec with -c openai_base_url=<model.base_url>, CODEX_API_KEY=sk-test
        assert model.response_requests[-1].tool_outputs()

The ``fake_openai`` pytest fixture (``tests/fake_openai/fixture.py``) gives a
started server and fails the test if a request found no scripted answer.
"""

from tests.fake_openai.script import (
    ErrorReply,
    Hang,
    Item,
    Turn,
    Usage,
    apply_patch,
    shell,
    text,
    tool,
    write,
)
from tests.fake_openai.server import FakeOpenAI, RecordedRequest

__all__ = [
    "ErrorReply",
    "FakeOpenAI",
    "Hang",
    "Item",
    "RecordedRequest",
    "Turn",
    "Usage",
    "apply_patch",
    "shell",
    "text",
    "tool",
    "write",
]
