"""Text as people type it: what every free-text input keeps, counted as the browser counts it."""

from __future__ import annotations

import re

#: Control characters no keyboard types - only a crafted request sends them,
#: and PostgreSQL cannot store NUL at all. Tabs and line breaks stay.
UNTYPEABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


#: Line breaks as forms send them (CR LF) or old systems write them (CR).
LINE_BREAK = re.compile(r"\r\n?")


def typed_text(raw: str) -> str:
    """`raw` without untypeable characters or surrounding white space, line breaks as LF.

    A browser sends a text box's line breaks as CR LF but counts each as
    one character against `maxlength`; stored as LF, the text is what the
    person saw.
    """
    return UNTYPEABLE.sub("", LINE_BREAK.sub("\n", raw)).strip()


def browser_length(text: str) -> int:
    """Length as a browser's `maxlength` counts it: UTF-16 code units.

    A character outside the Basic Multilingual Plane (most emoji) counts
    two, as it does in the browser (HTML: "the length of the value ... in
    code units"). Line breaks count one once `typed_text` made them LF.
    """
    return len(text.encode("utf-16-le")) // 2
