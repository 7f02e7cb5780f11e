"""Who is asking: the municipality's name and logo on every respondent page.

A customer who taps a link in a text message from an unknown number must see
at once whose survey it is, or the page looks like phishing. The name is the
setting MUNICIPALITY_NAME; the logo, optional, is an SVG file named by
MUNICIPALITY_LOGO, read once at start-up and inlined into every respondent
page (no extra request: the first view stays within its 14 KB budget,
docs/performance.md).

An SVG is a program as much as a picture (scripts, event handlers, links,
external images and fonts, CSS). The logo is therefore parsed with
defusedxml (no DTD, no entities, no external references: XML bombs and
entity tricks fail to parse) and rebuilt from an allowlist: shapes, groups,
gradients and clip paths, with geometry and paint attributes whose values
hold nothing but numbers, names, colours and references to the logo's own
gradients. Everything else - scripts, `style`, `foreignObject`, `image`,
`use`, links, text, metadata, event handlers, any value with a colon or a
quote - is left out. The result must fit MAX_INLINE_BYTES.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring
from markupsafe import Markup

from .config import Config, ConfigError

SVG_NAMESPACE = "http://www.w3.org/2000/svg"
XLINK_NAMESPACE = "http://www.w3.org/1999/xlink"
#: A logo file larger than this is refused before parsing (editors' metadata included).
MAX_FILE_BYTES = 64 * 1024
#: The cleaned logo as inlined, in bytes of UTF-8. With the heaviest survey's
#: first view at about 5 KB compressed, even an incompressible logo of this
#: size keeps the first view well inside 14 KB (tests/test_branding.py).
MAX_INLINE_BYTES = 4 * 1024
#: Ids in the logo are prefixed, so they cannot clash with the page's own (q-..., a-...).
ID_PREFIX = "logo-"

#: Elements kept (SVG's own, local names); any other element is dropped with everything inside it.
ELEMENTS = frozenset({
    "svg", "g", "path", "rect", "circle", "ellipse", "line", "polyline", "polygon",
    "defs", "linearGradient", "radialGradient", "stop", "clipPath",
})
#: Attributes kept, on any kept element. Values are checked by VALUE below.
ATTRIBUTES = frozenset({
    "viewBox", "preserveAspectRatio", "id", "transform",
    "d", "x", "y", "width", "height", "rx", "ry", "cx", "cy", "r", "fx", "fy",
    "x1", "y1", "x2", "y2", "points", "offset",
    "fill", "fill-rule", "fill-opacity", "stroke", "stroke-width", "stroke-linecap",
    "stroke-linejoin", "stroke-miterlimit", "stroke-dasharray", "stroke-dashoffset",
    "stroke-opacity", "opacity", "clip-path", "clip-rule", "stop-color", "stop-opacity",
    "gradientUnits", "gradientTransform", "spreadMethod", "clipPathUnits",
})
#: The same properties written in a `style` attribute (as editors write them) become attributes.
STYLE_PROPERTIES = ATTRIBUTES & {
    "fill", "fill-rule", "fill-opacity", "stroke", "stroke-width", "stroke-linecap",
    "stroke-linejoin", "stroke-miterlimit", "stroke-dasharray", "stroke-dashoffset",
    "stroke-opacity", "opacity", "clip-path", "clip-rule", "stop-color", "stop-opacity",
}
#: Numbers, names, colours, path data, transforms: no colon, quote, semicolon,
#: backslash, ampersand or angle bracket can pass, so no scheme, no CSS, no markup.
VALUE = re.compile(r"[A-Za-z0-9#.,%()+\-\s]*")
#: The only functions a value may call: colours, transforms, and url() of the logo's own ids.
FUNCTIONS = frozenset({"rgb", "rgba", "hsl", "hsla", "matrix", "translate", "scale", "rotate", "skewx", "skewy", "url"})
FUNCTION = re.compile(r"([A-Za-z-]*)\s*\(")
LOCAL_REFERENCE = re.compile(r"url\(\s*#([A-Za-z][\w.-]*)\s*\)", re.ASCII)
ID = re.compile(r"[A-Za-z][\w.-]*", re.ASCII)
#: A plain number as SVG writes it (no "nan", no "inf", which float() would take).
NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def logo_from_config(config: Config) -> Markup | None:
    """The configured logo, cleaned, as markup to inline; None when none is configured.

    Raises ConfigError (naming MUNICIPALITY_LOGO) when the file cannot be read,
    is not an SVG, is too large, or is too large still after cleaning.
    """
    if not config.municipality_logo:
        return None
    path = Path(config.municipality_logo)
    try:
        with path.open("rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise ConfigError(f"MUNICIPALITY_LOGO {str(path)!r} cannot be read: {error.strerror}") from error
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError(f"MUNICIPALITY_LOGO {str(path)!r} is larger than {MAX_FILE_BYTES:,} bytes")
    try:
        return clean_svg(data)
    except LogoError as error:
        raise ConfigError(f"MUNICIPALITY_LOGO {str(path)!r}: {error}") from error


class LogoError(ValueError):
    """An SVG that cannot be made into a logo; the message says why."""


def clean_svg(data: bytes) -> Markup:
    """`data` (an SVG document) rebuilt from the allowlist, as inline markup.

    Returns an `<svg>` element without namespace declarations (the HTML
    parser puts it in SVG's namespace), marked decorative (`aria-hidden`; the
    municipality's name stands beside it as text) and sized by the page's
    CSS. Raises LogoError when the data is not well-formed XML, declares a
    DTD or entities, is not an `<svg>` with a size (viewBox, or width and
    height in plain numbers), draws nothing, or is larger than
    MAX_INLINE_BYTES once cleaned.
    """
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException) as error:
        raise LogoError(f"not a well-formed SVG file without DTD or entities ({error})") from error
    if _local_name(root.tag) != "svg" or _namespace(root.tag) not in ("", SVG_NAMESPACE):
        raise LogoError("the file's root element is not <svg>")
    view_box = _view_box(root)
    ids = set(_kept_ids(root))
    cleaned = _element(root, ids)
    assert cleaned is not None
    for name in ("width", "height", "x", "y", "id", "transform"):
        cleaned.attrib.pop(name, None)
    cleaned.attrib = {
        "class": "logo", "viewBox": view_box, "aria-hidden": "true", "focusable": "false",
        **{k: v for k, v in cleaned.attrib.items() if k != "viewBox"},
    }
    if not any(_local_name(e.tag) in ELEMENTS - {"svg", "g", "defs", "clipPath"} for e in cleaned.iter()):
        raise LogoError("nothing is left to draw after cleaning (only shapes, gradients and clip paths are kept)")
    markup = ElementTree.tostring(cleaned, encoding="unicode", short_empty_elements=True)
    size = len(markup.encode())
    if size > MAX_INLINE_BYTES:
        raise LogoError(
            f"{size:,} bytes after cleaning, more than the {MAX_INLINE_BYTES:,} that fit the page budget:"
            " simplify the drawing (fewer points, fewer decimals; e.g. with svgo)"
        )
    # Every tag and attribute name is from the allowlists and every value was
    # escaped by ElementTree, so the markup is what it says.
    return Markup(markup)


def _element(source: ElementTree.Element, ids: set[str]) -> ElementTree.Element | None:
    """A fresh copy of `source` with what the allowlists keep, or None to drop it."""
    name = _local_name(source.tag)
    if _namespace(source.tag) not in ("", SVG_NAMESPACE) or name not in ELEMENTS:
        return None
    attributes: dict[str, str] = {}
    for declaration in (source.get("style") or "").split(";"):
        prop, _, value = declaration.partition(":")
        if prop.strip() in STYLE_PROPERTIES:
            attributes[prop.strip()] = value.strip()
    for key, value in source.attrib.items():
        if key in ATTRIBUTES:
            attributes[key] = value
        elif name in ("linearGradient", "radialGradient") and key in ("href", f"{{{XLINK_NAMESPACE}}}href"):
            # Editors chain gradients (the stops in one, the geometry in another).
            if value.startswith("#") and value[1:] in ids:
                attributes["href"] = "#" + ID_PREFIX + value[1:]
    kept = {}
    for key, value in attributes.items():
        value = _safe_value(key, value.strip(), ids)
        if value is not None:
            kept[key] = value
    element = ElementTree.Element(name, kept)
    for child in source:
        copy = _element(child, ids)
        if copy is not None:
            element.append(copy)
    return element


def _kept_ids(element: ElementTree.Element):
    """The ids of the elements `_element` keeps (so a reference to a dropped one is dropped too)."""
    if _namespace(element.tag) not in ("", SVG_NAMESPACE) or _local_name(element.tag) not in ELEMENTS:
        return
    value = element.get("id")
    if value and ID.fullmatch(value):
        yield value
    for child in element:
        yield from _kept_ids(child)


def _safe_value(key: str, value: str, ids: set[str]) -> str | None:
    if key == "href":
        return value  # built above from a known id
    if key == "id":
        return ID_PREFIX + value if value in ids else None
    if any(name.lower() not in FUNCTIONS for name in FUNCTION.findall(value)):
        return None
    references = LOCAL_REFERENCE.findall(value)
    if references:
        if any(reference not in ids for reference in references):
            return None
        value = LOCAL_REFERENCE.sub(lambda m: f"url(#{ID_PREFIX}{m.group(1)})", value)
        rest = LOCAL_REFERENCE.sub("", value)
        return value if VALUE.fullmatch(rest) and "url" not in rest.lower() else None
    if "url" in value.lower() or not VALUE.fullmatch(value):
        return None
    return value


def _view_box(root: ElementTree.Element) -> str:
    view_box = root.get("viewBox", "").strip()
    if view_box:
        numbers = view_box.replace(",", " ").split()
        if len(numbers) == 4 and all(NUMBER.fullmatch(n) for n in numbers) and float(numbers[2]) > 0 < float(numbers[3]):
            return " ".join(numbers)
        raise LogoError(f"viewBox {view_box!r} is not four numbers with a positive width and height")
    width, height = (root.get(k, "").strip().removesuffix("px") for k in ("width", "height"))
    if NUMBER.fullmatch(width) and NUMBER.fullmatch(height) and float(width) > 0 < float(height):
        return f"0 0 {width} {height}"
    raise LogoError("the <svg> has no viewBox, nor a width and height in plain numbers")


def _local_name(tag) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _namespace(tag) -> str:
    return tag[1:].partition("}")[0] if isinstance(tag, str) and tag.startswith("{") else ""
