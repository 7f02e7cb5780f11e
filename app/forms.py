"""What the staff forms share."""

from __future__ import annotations


def stripped(value):
    """WTForms filter: names are kept without surrounding spaces, and spaces alone are no name."""
    return value.strip() if isinstance(value, str) else value
