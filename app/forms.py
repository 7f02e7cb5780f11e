"""What the staff forms share."""

from __future__ import annotations

from .text import typed_text


def stripped(value):
    """WTForms filter: text as typed, without surrounding spaces; spaces alone are no name."""
    return typed_text(value) if isinstance(value, str) else value
