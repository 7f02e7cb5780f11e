"""The municipality's calendar and the application's one clock.

A server may run in UTC while the municipality lives in Europe/Stockholm;
at 00:30 on 1 December in Stockholm it is still 30 November in UTC. Every
date decision - is a campaign open, which month does an answer keep, the
day single-use links are issued on - asks this module, with the zone from
the configuration (`Config.timezone`, MUNICIPALITY_TIMEZONE).

The current time comes from one function, `app.config[CLOCK]` (Unix
seconds, `time.time` unless replaced). Tests set it to a chosen moment to
drive the real request path across midnight and daylight-saving changes;
nothing else replaces it. tests/test_day_boundaries.py keeps new
`date.today()` and naive `datetime.now()` out of app/.

The database is never asked for a date: the PostgreSQL submit function
(`store_waiting_answer`) takes its `p_today` from here. The database's own
clock fills only `created_at` / `loaded_at` (timestamp with time zone,
CURRENT_TIMESTAMP): instants, the same in every zone, from which nothing
derives a day. The rate limiter's key changes every 86,400 s of Unix time
(app/limits.py): a rotation period, not a calendar day anyone sees.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app

#: Key in `app.config` of the function returning the current Unix time (float seconds).
CLOCK = "KUNDROST_CLOCK"


def today_in(zone: ZoneInfo, now: float | None = None) -> date:
    """The calendar date in `zone` at Unix time `now` (default: the current time)."""
    return datetime.fromtimestamp(time.time() if now is None else now, zone).date()


def month_of(day: date) -> date:
    """The first day of `day`'s month: the finest time a stored response keeps."""
    return day.replace(day=1)


def now() -> float:
    """The current Unix time (seconds) by the application's clock (needs an application context)."""
    clock: Callable[[], float] = current_app.config.get(CLOCK, time.time)
    return clock()


def local_today() -> date:
    """Today in the municipality's time zone, by the application's clock (needs an application context)."""
    return today_in(current_app.config["KUNDROST"].zone, now())
