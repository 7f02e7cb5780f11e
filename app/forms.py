"""What the staff forms share."""

from __future__ import annotations

from .text import typed_name, typed_text


def stripped(value):
    """WTForms filter: text as typed, without surrounding spaces; spaces alone are no name."""
    return typed_text(value) if isinstance(value, str) else value


def as_name(value):
    """WTForms filter for a one-line name: `typed_name` (NFC, single spaces), so lengths count what is stored."""
    return typed_name(value) if isinstance(value, str) else value
