"""Named points where a test can make the process die as if killed.

The crash-safety tests (tests/test_crash_safety.py) start a real process
with `KUNDROST_CRASH_AT=<name>` and check that whatever it was doing - a
submit, a mixing, a key rotation - lost nothing, stored nothing twice and
erased no key still needed. The process sends itself SIGKILL: no cleanup,
no `finally`, no flushed buffers, exactly as when the host kills it. In a
deployment the setting is empty and `reached` costs a string comparison.

The setting is one point's name, or several separated by commas, each
optionally with a chance: `submit.stored@0.2,form.done@0.2` dies at either
point one time in five (tests/test_post_twice_under_load.py: workers that
die after their commit and before their answer, under load).
"""

from __future__ import annotations

import os
import random
import signal


def reached(name: str, crash_at: str) -> None:
    """Die at once (SIGKILL) if `crash_at` names this point (and its chance, if any, comes up)."""
    if not crash_at:
        return
    if crash_at == name:
        os.kill(os.getpid(), signal.SIGKILL)
    for point in crash_at.split(","):
        point_name, _, chance = point.partition("@")
        if point_name == name and chance and random.random() < float(chance):
            os.kill(os.getpid(), signal.SIGKILL)
