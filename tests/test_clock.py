"""Dates are the municipality's, not the server's (app/clock.py)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from app.clock import month_of, today_in
from app.config import Config, ConfigError

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize(("utc", "stockholm_day"), [
    ("2026-11-30T22:59:59", date(2026, 11, 30)),  # 23:59:59 in Stockholm (UTC+1)
    ("2026-11-30T23:00:00", date(2026, 12, 1)),   # midnight in Stockholm, still 30 November in UTC
    ("2026-03-28T23:30:00", date(2026, 3, 29)),   # the night summer time begins
    ("2026-03-29T22:00:00", date(2026, 3, 30)),   # midnight in summer time (UTC+2)
    ("2026-10-24T21:59:59", date(2026, 10, 24)),  # the evening before summer time ends
    ("2026-10-25T23:00:00", date(2026, 10, 26)),  # midnight in winter time again (UTC+1)
])
def test_the_day_turns_at_midnight_in_the_municipality(utc, stockholm_day):
    assert today_in(STOCKHOLM, at(utc)) == stockholm_day


def test_an_answer_sent_at_half_past_midnight_on_1_december_keeps_december():
    day = today_in(STOCKHOLM, at("2026-11-30T23:30:00"))
    assert month_of(day) == date(2026, 12, 1)


def test_k_is_never_below_five_and_the_zone_must_exist():
    with pytest.raises(ConfigError, match="MIN_CELL_SIZE"):
        Config(min_cell_size=4)
    with pytest.raises(ConfigError, match="MUNICIPALITY_TIMEZONE"):
        Config(timezone="Europe/Stokholm")
    assert Config.from_env({"MIN_CELL_SIZE": "7"}).min_cell_size == 7
    with pytest.raises(ConfigError):
        Config.from_env({"MIN_CELL_SIZE": "3"})
