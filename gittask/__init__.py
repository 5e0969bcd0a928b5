"""gittask: run coding agents on tasks in Docker, with git as the task database."""

__version__ = "0.1.0"
