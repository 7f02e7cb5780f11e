"""The municipality's calendar: which day and month it is where the survey runs.

A server may run in UTC while the municipality lives in Europe/Stockholm;
at 00:30 on 1 December in Stockholm it is still 30 November in UTC. Every
date decision - is a campaign open, which month does an answer keep - asks
this module, with the zone from the configuration (`Config.timezone`).
"""

from __future__ import annotations

import time
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app


def today_in(zone: ZoneInfo, now: float | None = None) -> date:
    """The calendar date in `zone` at Unix time `now` (default: the current time)."""
    return datetime.fromtimestamp(time.time() if now is None else now, zone).date()


def month_of(day: date) -> date:
    """The first day of `day`'s month: the finest time a stored response keeps."""
    return day.replace(day=1)


def local_today() -> date:
    """Today in the municipality's time zone (needs an application context)."""
    return today_in(current_app.config["KUNDROST"].zone)
