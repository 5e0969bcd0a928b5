"""The domain model: tasks, their feedback and their status. No I/O here."""

from gittask.model.feedback import FeedbackEntry, FeedbackType
from gittask.model.status import TaskStatus
from gittask.model.task import TaskMetadata

__all__ = ["FeedbackEntry", "FeedbackType", "TaskMetadata", "TaskStatus"]
