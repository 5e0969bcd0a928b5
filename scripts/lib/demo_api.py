"""The scripted model for ``scripts/demo`` when no Anthropic credential is set.

Starts the test suite's Messages-API-compatible server (``tests/fake_anthropic``)
on 127.0.0.1 with the demo's two runs scripted, prints its base URL, and serves
until it is stopped (SIGTERM). The real ``claude`` binary, in the real image,
talks to it exactly as it would to the Anthropic API.
"""

from __future__ import annotations

import signal
import sys
import threading

from tests.fake_anthropic import FakeAnthropic, Usage, bash, edit, text, write


def main() -> None:
    model = FakeAnthropic(api_key=sys.argv[1] if len(sys.argv) > 1 else None)
    # task create: write a greeting module, check it with git, say what was done
    model.turn(
        text("I'll add a greeting module."),
        write("{cwd}/greeting.py", 'def greet(name):\n    return f"Hello, {name}!"\n'),
        usage=Usage(1200, 80),
    )
    model.turn(bash("git status --short"), usage=Usage(1400, 20))
    model.turn(text("Added greeting.py with greet(name)."), usage=Usage(1500, 30))
    # task continue (the same session, resumed): the feedback asks for a farewell
    model.turn(
        edit(
            "{cwd}/greeting.py",
            'return f"Hello, {name}!"\n',
            'return f"Hello, {name}!"\n\n\ndef farewell(name):\n    return f"Goodbye, {name}!"\n',
        ),
        usage=Usage(1700, 90),
    )
    model.turn(text("Added farewell(name) next to greet."), usage=Usage(1800, 25))
    model.start()
    print(model.base_url, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    model.stop()


if __name__ == "__main__":
    main()
