"""Text as people type it: what every free-text input keeps."""

from __future__ import annotations

import re

#: Control characters no keyboard types - only a crafted request sends them,
#: and PostgreSQL cannot store NUL at all. Tabs and line breaks stay.
UNTYPEABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def typed_text(raw: str) -> str:
    """`raw` without untypeable characters or surrounding white space."""
    return UNTYPEABLE.sub("", raw).strip()
