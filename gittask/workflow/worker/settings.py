"""A worker's timings and limits: the project's settings, which the environment may override.

``GITTASK_LEASE_SECONDS`` and ``GITTASK_WORKER_POLL_SECONDS`` override
``worker.lease_seconds`` and ``worker.poll_seconds`` (tests and benchmarks use
leases of seconds, not minutes).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from gittask.config import ProjectConfig

LEASE_ENV = "GITTASK_LEASE_SECONDS"
POLL_ENV = "GITTASK_WORKER_POLL_SECONDS"


@dataclass(frozen=True)
class WorkerSettings:
    lease_seconds: float = 120.0  # a claim lasts this long unless renewed
    max_attempts: int = 3  # claims of a task before it is left failed
    poll_seconds: float = 5.0  # how often the remote is looked at

    @property
    def renew_every(self) -> float:
        """A lease is renewed when a third of it has gone (two renewals may fail)."""
        return self.lease_seconds / 3

    @classmethod
    def from_config(cls, config: ProjectConfig) -> WorkerSettings:
        return cls(
            lease_seconds=_env_seconds(LEASE_ENV, float(config.worker_lease_seconds)),
            max_attempts=int(config.worker_max_attempts),
            poll_seconds=_env_seconds(POLL_ENV, float(config.worker_poll_seconds)),
        )


def _env_seconds(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value > 0 else default
