"""Workers: machines that claim queued tasks through the git remote and run them.

    queue         ``queued`` tasks; claiming one (a lease, by compare-and-swap on the remote)
    loop          ``claude-container worker``: claim, run, renew, settle, stop, heartbeat
    child         one leased run, in a process of its own (``task _work``)
    endings       how a run ended: settled, or what is left to write
    heartbeat     each worker's ref on the remote: ``worker --status``
    stop_request  ``task stop`` of a task a worker holds, from any clone
    settings      lease, poll and retry settings (and their test overrides)

The lease rules themselves, which the run pipeline also follows, are in
:mod:`gittask.workflow.lease`; the fencing of late writes in a merge in
:mod:`gittask.store.merge.fencing`.
"""
