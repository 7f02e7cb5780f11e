"""Loaded (as `sitecustomize`) only by the processes the adversary driver runs under libfaketime.

libfaketime 0.9.10 (Debian 12) and Python 3.11 disagree in two places:
with the monotonic clock faked, a lock wait with a timeout never returns
(Python waits with sem_clockwait, which libfaketime does not intercept, on
a deadline in faked time); with it left real (FAKETIME_DONT_FAKE_MONOTONIC=1),
`time.sleep` fails with EINVAL (Python sleeps with clock_nanosleep(
CLOCK_MONOTONIC, TIMER_ABSTIME), whose deadline libfaketime shifts as if it
were wall-clock time). The driver keeps the monotonic clock real and this
replaces `time.sleep` with a select()-based sleep. Dates and wall-clock
time (time.time, datetime, date.today) stay faked: that is the point.
"""

import os
import select
import time

if "faketime" in os.environ.get("LD_PRELOAD", "") and os.environ.get("FAKETIME_DONT_FAKE_MONOTONIC") == "1":
    _monotonic = time.monotonic

    def _sleep(seconds: float) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        deadline = _monotonic() + seconds
        while True:
            left = deadline - _monotonic()
            if left <= 0:
                return
            select.select([], [], [], left)

    time.sleep = _sleep
