"""A fake, stateful GitHub REST API server for tests (see README.md)."""

from tests.fake_github.server import FakeGitHub, GitHubAPIError, RecordedRequest

__all__ = ["FakeGitHub", "GitHubAPIError", "RecordedRequest"]
