"""Finding a GitHub token: GH_TOKEN, GITHUB_TOKEN, else `gh auth token`. Never stored."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping


def find_token(env: Mapping[str, str] | None = None, host: str | None = None) -> str | None:
    env = os.environ if env is None else env
    for name in ("GH_TOKEN", "GITHUB_TOKEN"):
        value = env.get(name, "").strip()
        if value:
            return value
    gh = shutil.which("gh")
    if gh is None:
        return None
    args = [gh, "auth", "token"]
    if host and host != "github.com":
        args += ["--hostname", host]
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    token = proc.stdout.strip()
    return token if proc.returncode == 0 and token else None
