"""Schedules: cron slots that make and start tasks, each slot exactly once across clones.

records   create, list, find, pause, resume, delete (``schedules/<id>.yaml``)
slots     which slot is due now, and the task it makes (deterministic)
claim     a slot's task pushed by compare-and-swap: only the clone whose push
          reached the remote starts it
tick      one pass of ``claude-container scheduler``: fetch, fire due slots,
          start waiting tasks whose dependencies succeeded
"""
