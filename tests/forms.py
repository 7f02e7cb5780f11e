"""The forms a page shows, read as a browser reads them (stdlib html.parser).

Tests post what the page's own form would send: its hidden fields (the
CSRF token, the form key) as rendered, then the values a person fills in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Form:
    """A <form>: where it posts, and its fields in document order as (name, value, type)."""

    action: str
    method: str
    fields: list[tuple[str, str, str]] = field(default_factory=list)
    #: <select> name -> the values of its options, in order.
    options: dict[str, list[str]] = field(default_factory=dict)

    def hidden(self) -> dict[str, str]:
        """The hidden fields, as the browser sends them."""
        return {name: value for name, value, kind in self.fields if kind == "hidden"}

    def value(self, name: str) -> str:
        return next(value for field_name, value, _kind in self.fields if field_name == name)


class _FormReader(HTMLParser):
    def __init__(self, page_path: str):
        super().__init__(convert_charrefs=True)
        self.page_path = page_path
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            self._form = Form(attributes.get("action") or self.page_path, (attributes.get("method") or "get").lower())
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input" and attributes.get("name"):
            kind = (attributes.get("type") or "text").lower()
            if kind in ("checkbox", "radio") and "checked" not in attributes:
                return
            self._form.fields.append((attributes["name"], attributes.get("value") or "", kind))
        elif tag == "select":
            self._select = attributes.get("name")
            self._form.options[self._select] = []
        elif tag == "option" and self._select:
            self._form.options[self._select].append(attributes.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def forms_on(html: str, page_path: str = "") -> list[Form]:
    """Every form of a page; a form without `action` posts to `page_path`."""
    reader = _FormReader(page_path)
    reader.feed(html)
    return reader.forms


def form_posting_to(html: str, action: str, page_path: str = "") -> Form:
    """The one form of the page that posts to `action` (a path, query included)."""
    matching = [form for form in forms_on(html, page_path) if form.action == action]
    assert len(matching) == 1, f"{len(matching)} forms post to {action}"
    return matching[0]


def hidden_fields(html: str, action: str, page_path: str = "") -> dict[str, str]:
    """The hidden fields of the page's form that posts to `action`."""
    return form_posting_to(html, action, page_path).hidden()
