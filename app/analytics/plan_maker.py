"""Making a campaign's suppression plan beside a web request, never past the worker's timeout.

A results page needs its campaign's linked plan (linked.py). The mixing
step makes and keeps it after each round (StoredPlan), so a page normally
reads it in milliseconds; but between a mixing's commit and the mixer
keeping the new plan, or where no mixer runs, a page must make it itself,
and with the feasibility audit a wide survey's plan takes tens of seconds
(docs/performance.md). Gunicorn kills a sync worker that answers nothing
for 30 s: the visitor got a 500.

So a request hands the making to one background thread per worker process
and waits at most `Config.plan_wait` for it. A plan ready in time is used
as before; otherwise the request raises PlanPending, which the error
handler (app/errors.py) answers with 503 and Retry-After - a page saying
in the visitor's language that the figures are being worked out, with a
link to try again, or the API's JSON error. The thread goes on; the next
request to this worker finds the plan kept in the process (linked._PLANS);
another worker makes its own, unless the mixing step has kept it by then
(StoredPlan), as it does after every round.

Nothing partial is ever shown: a page shows the figures of a whole plan or
none, so the two suppression patterns of the same counts can never be laid
side by side. One thread per process, because a plan is CPU-bound and the
machines have two cores; plans asked for meanwhile queue behind it, their
wait counted.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from threading import Lock
from typing import TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

T = TypeVar("T")

#: Seconds a visitor (or a BI tool) is told to wait before asking again: Retry-After.
RETRY_AFTER_SECONDS = 10


class PlanPending(Exception):
    """A campaign's suppression plan is still being made beside the request: try again in `retry_after` s."""

    def __init__(self, campaign_id: int, retry_after: int = RETRY_AFTER_SECONDS) -> None:
        super().__init__(f"campaign {campaign_id}: its results' suppression plan is still being made")
        self.campaign_id = campaign_id
        self.retry_after = retry_after


_LOCK = Lock()
_EXECUTOR: tuple[int, ThreadPoolExecutor] | None = None  # (pid it was made in, executor)
_MAKING: dict[Hashable, Future] = {}


def made_within(key: Hashable, campaign_id: int, engine: Engine, make: Callable[[Session], T],
                wait: float) -> T:
    """`make(session)`'s value, made in this process's plan thread with its own Session on `engine`.

    `key` names the plan: a request asking for a plan already being made
    waits for that one instead of starting another. Waits at most `wait`
    seconds (0: only takes a plan already made); raises PlanPending if it
    is not ready by then, while the thread goes on, and re-raises whatever
    `make` raised. `make` must keep its value where the next request looks
    first (linked._PLANS): the thread forgets a plan once made or failed,
    so that a failure is tried again by the next request.
    """
    with _LOCK:
        future = _MAKING.get(key)
        if future is None:
            future = _executor().submit(_make, make, engine)
            _MAKING[key] = future
            future.add_done_callback(lambda _done: _forget(key, future))
    try:
        return future.result(timeout=wait)
    except FutureTimeout:
        raise PlanPending(campaign_id) from None


def wait_for_plans(timeout: float) -> bool:
    """Wait up to `timeout` seconds for every plan being made in this process; True when none is left
    (tests: the figures a retry will show)."""
    with _LOCK:
        futures = list(_MAKING.values())
    for future in futures:
        try:
            future.result(timeout=timeout)
        except FutureTimeout:
            return False
        except Exception:  # noqa: BLE001 - the request that waits for it reports the failure
            pass
    return True


def _make(make: Callable[[Session], T], engine: Engine) -> T:
    with Session(engine) as session:
        return make(session)


def _forget(key: Hashable, future: Future) -> None:
    with _LOCK:
        if _MAKING.get(key) is future:
            del _MAKING[key]


def _executor() -> ThreadPoolExecutor:
    # Made lazily, once per process: a thread started before gunicorn forks its workers would not be in them.
    global _EXECUTOR
    if _EXECUTOR is None or _EXECUTOR[0] != os.getpid():
        _EXECUTOR = (os.getpid(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="results-plan"))
    return _EXECUTOR[1]
