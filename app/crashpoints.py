"""Named points where a test can make the process die as if killed.

The crash-safety tests (tests/test_crash_safety.py) start a real process
with `KUNDROST_CRASH_AT=<name>` and check that whatever it was doing - a
submit, a mixing, a key rotation - lost nothing, stored nothing twice and
erased no key still needed. The process sends itself SIGKILL: no cleanup,
no `finally`, no flushed buffers, exactly as when the host kills it. In a
deployment the setting is empty and `reached` costs a string comparison.
"""

from __future__ import annotations

import os
import signal


def reached(name: str, crash_at: str) -> None:
    """Die at once (SIGKILL) if `crash_at` names this point."""
    if crash_at and crash_at == name:
        os.kill(os.getpid(), signal.SIGKILL)
