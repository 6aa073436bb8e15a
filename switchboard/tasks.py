"""Stopping the switchboard's background tasks for sure.

redis-py's asyncio client can swallow a task's cancellation while it reconnects (redis-py 8.1: a command or a
pub/sub read in flight when Redis went away or came back), and the task then carries on: the sweep loop went back
to sleep and a stopping instance waited for it forever, so a rolling restart's SIGTERM ended in systemd's SIGKILL.
:func:`stop_task` cancels again until the task has really ended, and never waits unbounded.
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)

#: How often a task that swallowed its cancellation is cancelled again.
RECANCEL_S = 0.2


async def stop_task(task: asyncio.Task[object], grace_s: float = 5.0) -> bool:
    """Cancel ``task`` and wait until it has ended, cancelling it again every :data:`RECANCEL_S` seconds in
    case it swallowed a cancellation; give up after ``grace_s`` (logged). Returns whether it ended. Whatever it
    ended with is retrieved: its errors were logged where they happened."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace_s
    while not task.done():
        task.cancel()
        remaining = deadline - loop.time()
        if remaining <= 0:
            log.warning("a background task did not stop: %s", task.get_name())
            return False
        await asyncio.wait([task], timeout=min(RECANCEL_S, remaining))
    if not task.cancelled():
        task.exception()
    return True
