"""Text in any of our scripts on a ReportLab canvas: bidi order, Arabic shaping, a font per run.

ReportLab 5.1 shapes with HarfBuzz (uharfbuzz) but cannot reorder
right-to-left text (its bidi needs `rlbidi`, not on PyPI), and no single
Noto font of Debian's fonts-noto-core has Latin, Arabic and Ethiopic
letters (the Arabic and Ethiopic builds lack Latin letters and ASCII
brackets; the Ethiopic one lacks digits). What this module does, per
../shared/tech-notes.md ("PDFs in Arabic script and Ethiopic"), which gave
output identical to Chromium's:

1. the Unicode bidi algorithm (UAX #9, rules P-I) on the whole paragraph
   with python-bidi's pure-Python `bidi.algorithm`, for the embedding
   level of every character, the base level from the language's
   direction (never guessed from the text);
2. lines wrapped in logical order;
3. per line: trailing white space back to the base level (rule L1), runs
   of equal level, runs reordered visually (rule L2: from the highest
   level down to the lowest odd one, reverse every sequence at that level
   or above);
4. each run split where the font must change (the first font of the chain
   that has a letter's glyph; spaces and punctuation stay in the font
   before them when it has them, combining marks and ZWNJ/ZWJ always);
5. right-to-left pieces shaped by HarfBuzz with the direction set to RTL
   (joining, vowel marks, mirrored brackets, glyphs in visual order);
   left-to-right pieces drawn unshaped, exactly as ReportLab always drew
   them. Letting HarfBuzz pick the direction of a whole line would
   reverse multi-digit numbers (123 -> 321); here digits are their own
   left-to-right run (levels 2 in RTL text) and keep their order.

The bidi marks LRM, RLM and ALM steer step 1 and are then not drawn;
explicit embeddings and isolates are dropped before it (python-bidi's
pure algorithm removes embeddings itself and does not know isolates).

Public API: `has_rtl`, `embedding_levels`, `visual_runs`, `font_runs`, `line_width`,
`draw_line`, `wrap_lines`, `TextBlock` (a Flowable for titles, body text and
table cells), `FontChain` and `noto_fonts`. Units: sizes and widths in
PDF points (1/72 inch); x, y in the canvas's coordinates.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import uharfbuzz
from bidi import algorithm as uax9
from reportlab.lib import colors
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import ShapeData, ShapedStr, TTFont
from reportlab.platypus import Flowable

#: Explicit embeddings, overrides and isolates: dropped before the algorithm (module docstring).
_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))
#: LRM, RLM, ALM: they give their level to the algorithm and have no ink.
_MARKS = frozenset("\u200e\u200f\u061c")
#: Characters that join the font of the character before them (marks, ZWNJ, ZWJ).
_FOLLOWERS = frozenset({"Mn", "Me", "Cf"})
_HB_FEATURES = {"kern": True, "liga": True}

_FONT_DIR = Path("/usr/share/fonts/truetype")
#: Our font names -> the files tried in turn (Debian fonts-noto-core, DejaVu where Noto is missing).
_FONT_FILES = {
    "KrSans": ["noto/NotoSans-Regular.ttf", "dejavu/DejaVuSans.ttf"],
    "KrSans-Bold": ["noto/NotoSans-Bold.ttf", "dejavu/DejaVuSans-Bold.ttf"],
    "KrArabic": ["noto/NotoSansArabic-Regular.ttf", "noto/NotoNaskhArabic-Regular.ttf"],
    "KrArabic-Bold": ["noto/NotoSansArabic-Bold.ttf", "noto/NotoNaskhArabic-Bold.ttf"],
    "KrEthiopic": ["noto/NotoSansEthiopic-Regular.ttf"],
    "KrEthiopic-Bold": ["noto/NotoSansEthiopic-Bold.ttf"],
}


# --- Fonts -----------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def registered_fonts() -> dict[str, str]:
    """Register the fonts of `_FONT_FILES` that exist, once; returns our name -> file path of those found.

    ReportLab keys fonts by name: "KrSans" etc. are ours alone, so nothing
    else registered replaces them (tech-notes, "Fonts").
    """
    found = {}
    for name, candidates in _FONT_FILES.items():
        path = next((_FONT_DIR / c for c in candidates if (_FONT_DIR / c).is_file()), None)
        if path is not None:
            pdfmetrics.registerFont(TTFont(name, str(path)))
            found[name] = str(path)
    if "KrSans" in found and "KrSans-Bold" in found:
        pdfmetrics.registerFontFamily("KrSans", normal="KrSans", bold="KrSans-Bold",
                                      italic="KrSans", boldItalic="KrSans-Bold")
    return found


@dataclass(frozen=True)
class FontChain:
    """Registered font names in the order tried for a glyph; the first is the main one (Latin, Cyrillic)."""

    names: tuple[str, ...]

    def covers(self, name: str, char: str) -> bool:
        """Whether font `name` has a glyph for `char` (a built-in Type 1 font: Latin-1 only)."""
        face = getattr(pdfmetrics.getFont(name), "face", None)
        if face is None or not hasattr(face, "charToGlyph"):
            return ord(char) < 256
        return ord(char) in face.charToGlyph

    def font_for(self, char: str, current: str | None) -> str:
        """The font to draw `char` with, after a character drawn in `current` (None at a run's start).

        Marks, ZWNJ and ZWJ stay with `current`; so do spaces, punctuation and
        symbols when `current` has them (fewer font changes, and Arabic word
        spaces keep the Arabic font's width). A letter or digit takes the first
        font of the chain with its glyph; with none, the main font (its
        .notdef box shows the gap rather than hiding it).
        """
        category = unicodedata.category(char)
        if current is not None and (category in _FOLLOWERS or
                                    (category[0] not in "LN" and self.covers(current, char))):
            return current
        return next((name for name in self.names if self.covers(name, char)), current or self.names[0])


def noto_fonts(bold: bool = False) -> FontChain:
    """The chain Noto Sans (or DejaVu Sans), Noto Sans Arabic (or Naskh), Noto Sans Ethiopic: those installed.

    Falls back to Helvetica / Helvetica-Bold (Latin-1 only) when none is.
    """
    found = registered_fonts()
    suffix = "-Bold" if bold else ""
    names = tuple(n + suffix for n in ("KrSans", "KrArabic", "KrEthiopic") if n + suffix in found)
    return FontChain(names or ("Helvetica-Bold" if bold else "Helvetica",))


# --- Bidi ------------------------------------------------------------------------------------------

def _base_level(direction: str) -> int:
    if direction not in ("ltr", "rtl"):
        raise ValueError(f'direction must be "ltr" or "rtl", not {direction!r}')
    return 1 if direction == "rtl" else 0


def clean(text: str) -> str:
    """`text` without explicit bidi embeddings, overrides and isolates (U+202A-202E, U+2066-2069)."""
    return text.translate(_CONTROLS)


def has_rtl(text: str) -> bool:
    """Whether `text` has a right-to-left letter or an Arabic-Indic digit (bidi classes R, AL, AN)."""
    return any(unicodedata.bidirectional(char) in ("R", "AL", "AN") for char in text)


def embedding_levels(text: str, direction: str) -> list[int]:
    """The resolved embedding level (0, 1, 2, ...; odd = right to left) of each character of `text`.

    UAX #9 rules X1-I2 via python-bidi's pure-Python algorithm, paragraph
    level 0 for "ltr" and 1 for "rtl" (rules P2-P3 are not used: the
    direction is the language's). `text` must be `clean`ed (no embeddings);
    characters X9 removes (ZWNJ, ZWJ and other BN) get the level before
    them. Raises ValueError for another direction.
    """
    base = _base_level(direction)
    storage = uax9.get_empty_storage()
    storage["base_level"], storage["base_dir"] = base, "LR"[base]
    uax9.get_embedding_levels(text, storage)
    uax9.explicit_embed_and_overrides(storage)
    uax9.resolve_weak_types(storage)
    uax9.resolve_neutral_types(storage, False)
    uax9.resolve_implicit_levels(storage, False)
    kept = iter(storage["chars"])
    levels, previous = [], base
    for char in text:
        if unicodedata.bidirectional(char) not in uax9.X9_REMOVED:
            previous = next(kept)["level"]
        levels.append(previous)
    return levels


@dataclass(frozen=True)
class Run:
    """A directional run of one line: its characters in logical order and their embedding level."""

    text: str
    level: int

    @property
    def rtl(self) -> bool:
        """Whether the run reads right to left (odd level)."""
        return self.level % 2 == 1


def visual_runs(text: str, direction: str, levels: list[int] | None = None) -> list[Run]:
    """One line's directional runs, left to right as they stand on the page (UAX #9 rules L1-L2).

    `levels` are the line's slice of `embedding_levels` of its paragraph
    (computed from `text` alone when None). Each run's text stays in
    logical order: a right-to-left run is reversed when drawn (by
    HarfBuzz). Bidi marks (LRM, RLM, ALM) are left out. Example, "rtl":
    "متوسط 4,8 %" -> [Run(" %", 1), Run("4,8", 2), Run("متوسط ", 1)]: on the
    page, left to right, "% 4,8" and then the word (as Chromium shows it).
    """
    base = _base_level(direction)
    text = clean(text)
    levels = list(embedding_levels(text, direction) if levels is None else levels)
    # L1: white space at the end of the line takes the paragraph's level.
    end = len(text)
    while end and (text[end - 1] in _MARKS or unicodedata.bidirectional(text[end - 1]) in ("WS", "BN", "S")):
        end -= 1
        levels[end] = base
    runs: list[Run] = []
    start = 0
    for index in range(1, len(text) + 1):
        if index == len(text) or levels[index] != levels[start]:
            piece = "".join(c for c in text[start:index] if c not in _MARKS)
            if piece:
                runs.append(Run(piece, levels[start]))
            start = index
    # Runs split by a dropped mark at the same level join again.
    merged: list[Run] = []
    for run in runs:
        if merged and merged[-1].level == run.level:
            merged[-1] = Run(merged[-1].text + run.text, run.level)
        else:
            merged.append(run)
    return _reorder(merged)


def _reorder(runs: list[Run]) -> list[Run]:
    """Rule L2: from the highest level down to the lowest odd level, reverse each sequence at that level or above."""
    if not runs:
        return runs
    odd = [run.level for run in runs if run.rtl]
    if not odd:
        return runs
    order = list(runs)
    for level in range(max(run.level for run in runs), min(odd) - 1, -1):
        index = 0
        while index < len(order):
            if order[index].level >= level:
                stop = index
                while stop < len(order) and order[stop].level >= level:
                    stop += 1
                order[index:stop] = order[index:stop][::-1]
                index = stop
            else:
                index += 1
    return order


# --- Fonts per run, shaping, drawing -----------------------------------------------------------------

@dataclass(frozen=True)
class Piece:
    """What is drawn in one go: text of one run in one font; `rtl` pieces are shaped, in logical order here."""

    text: str
    font: str
    rtl: bool


def font_runs(run: Run, chain: FontChain) -> list[Piece]:
    """`run` split where its font changes (`FontChain.font_for`), in visual order (an RTL run's pieces reversed)."""
    pieces: list[Piece] = []
    current = None
    for char in run.text:
        current = chain.font_for(char, current)
        if pieces and pieces[-1].font == current:
            pieces[-1] = Piece(pieces[-1].text + char, current, run.rtl)
        else:
            pieces.append(Piece(char, current, run.rtl))
    return pieces[::-1] if run.rtl else pieces


def _shaped(text: str, font_name: str, size: float) -> ShapedStr | str:
    """`text` shaped right to left by HarfBuzz in `font_name`: glyphs in visual order, as ReportLab draws them.

    The same conversion as ReportLab's own `shapeFragWord` (glyph ids to
    the font's characters, private-use code points for glyphs no character
    maps to), but with the direction set instead of guessed, so a run of
    only spaces and brackets is also reversed and mirrored. A built-in
    Type 1 font cannot be shaped: its text comes back reversed.
    """
    font = pdfmetrics.getFont(font_name)
    if not getattr(font, "shapable", False):
        return text[::-1]
    hb_font = font.hbFont(size)
    buffer = uharfbuzz.Buffer()
    buffer.cluster_level = uharfbuzz.BufferClusterLevel.MONOTONE_CHARACTERS
    buffer.add_str(text)
    buffer.direction = "rtl"
    buffer.guess_segment_properties()
    uharfbuzz.shape(hb_font, buffer, _HB_FEATURES)
    face = font.face
    characters, data = [], []
    for info, position in zip(buffer.glyph_infos, buffer.glyph_positions):
        glyph = info.codepoint
        try:
            code = face.glyphToChar[glyph][0]
        except (KeyError, IndexError):
            code = font.hbAddPrivate(hb_font.glyph_to_string(glyph), glyph, position.x_advance)
        characters.append(chr(code))
        data.append(ShapeData(info.cluster, font.pdfScale(position.x_advance), font.pdfScale(position.y_advance),
                              font.pdfScale(position.x_offset), font.pdfScale(position.y_offset),
                              face.charWidths[code]))
    return ShapedStr("".join(characters), shapeData=data)


def _prepared(piece: Piece, size: float) -> tuple[str, float]:
    """The string to hand to ReportLab for `piece` and its advance width in points."""
    if not piece.rtl:
        return piece.text, pdfmetrics.stringWidth(piece.text, piece.font, size)
    shaped = _shaped(piece.text, piece.font, size)
    if isinstance(shaped, ShapedStr):
        return shaped, sum(d.x_advance for d in shaped.__shapeData__) * size / 1000
    return shaped, pdfmetrics.stringWidth(shaped, piece.font, size)


def layout(text: str, size: float, direction: str, chain: FontChain | None = None,
           levels: list[int] | None = None) -> list[tuple[str, str, float]]:
    """One line as (string for ReportLab, font name, width in points), left to right; see `visual_runs`."""
    chain = chain or noto_fonts()
    laid = []
    for run in visual_runs(text, direction, levels):
        for piece in font_runs(run, chain):
            string, width = _prepared(piece, size)
            laid.append((string, piece.font, width))
    return laid


def line_width(text: str, size: float, direction: str, chain: FontChain | None = None) -> float:
    """The width in points of `text` drawn as one line at `size` points (shaped where RTL)."""
    return sum(width for _string, _font, width in layout(text, size, direction, chain))


def draw_line(canvas, x: float, y: float, text: str, size: float, direction: str,
              chain: FontChain | None = None, anchor: str = "start", levels: list[int] | None = None) -> float:
    """Draw `text` as one line on `canvas` with its baseline at `y`; returns its width in points.

    `anchor` says what `x` is: "start" the line's start (its left edge for
    "ltr", its right edge for "rtl"), "end" the other edge, "left",
    "right" or "middle". Fonts from `chain` (default `noto_fonts()`); the
    fill colour is the canvas's. Raises ValueError for another direction
    or anchor.
    """
    laid = layout(text, size, direction, chain, levels)
    width = sum(w for _s, _f, w in laid)
    if anchor in ("start", "end"):
        anchor = {("start", "ltr"): "left", ("start", "rtl"): "right",
                  ("end", "ltr"): "right", ("end", "rtl"): "left"}[anchor, direction]
    offsets = {"left": 0.0, "right": width, "middle": width / 2}
    if anchor not in offsets:
        raise ValueError(f"anchor must be start, end, left, right or middle, not {anchor!r}")
    cursor = x - offsets[anchor]
    for string, font, piece_width in laid:
        canvas.setFont(font, size)
        canvas.drawString(cursor, y, string)
        cursor += piece_width
    return width


# --- Paragraphs ------------------------------------------------------------------------------------

def wrap_lines(text: str, width: float, size: float, direction: str,
               chain: FontChain | None = None) -> list[tuple[str, list[int]]]:
    """`text` broken at spaces (and at newlines) into lines no wider than `width` points, in logical order.

    Returns (line text, its characters' embedding levels from the whole
    paragraph). A word wider than `width` is broken between two of its
    characters (never before a combining mark or a joiner): a provider
    named in one 57-letter word once ran across the figures of a
    right-to-left table. Widths are measured per piece (shaping does not
    join across a space, nor across such a break).
    """
    chain = chain or noto_fonts()
    text = clean(text)
    lines: list[tuple[str, list[int]]] = []
    for paragraph in text.split("\n"):
        levels = embedding_levels(paragraph, direction)
        space = pdfmetrics.stringWidth(" ", chain.names[0], size)
        start = end = None
        used = 0.0
        for first, last, piece_width, spaced in _pieces(paragraph, width, size, direction, chain):
            gap = space if spaced else 0.0
            if start is not None and used + gap + piece_width > width:
                lines.append((paragraph[start:end], levels[start:end]))
                start = None
            if start is None:
                start, used = first, piece_width
            else:
                used += gap + piece_width
            end = last
        lines.append((paragraph[start or 0:end or 0], levels[start or 0:end or 0]))
    return lines


def _pieces(paragraph: str, width: float, size: float, direction: str, chain: FontChain):
    """(first, last index, width in points, preceded by a space) of each word of `paragraph`, a word wider than
    `width` as several pieces that each fit (one character at least)."""
    position = 0
    for number, word in enumerate(paragraph.split(" ")):
        word_width = line_width(word, size, direction, chain) if word else 0.0
        if word_width <= width or len(word) < 2:
            yield position, position + len(word), word_width, number > 0
        else:
            for piece, (first, last) in enumerate(_fitting_parts(word, width, size, direction, chain)):
                yield (position + first, position + last,
                       line_width(word[first:last], size, direction, chain), number > 0 and piece == 0)
        position += len(word) + 1


def _fitting_parts(word: str, width: float, size: float, direction: str, chain: FontChain) -> list[tuple[int, int]]:
    """`word` cut into (first, last) spans no wider than `width`, each at least one character long."""
    parts, first = [], 0
    while first < len(word):
        last = first + 1
        for end in range(first + 1, len(word) + 1):
            if end < len(word) and not _may_break_before(word[end]):
                continue
            if line_width(word[first:end], size, direction, chain) > width:
                break
            last = end
        while last < len(word) and not _may_break_before(word[last]):
            last += 1  # a single character with its marks, even if too wide
        parts.append((first, last))
        first = last
    return parts


def _may_break_before(character: str) -> bool:
    # Not before a combining mark (it belongs to the letter before) nor a zero-width joiner or non-joiner.
    return not unicodedata.combining(character) and character not in "\u200c\u200d"


class TextBlock(Flowable):
    """A Paragraph-like flowable for plain text in any script: wrapped, bidi-ordered, shaped, aligned.

    `size` and `leading` in points; `direction` "ltr" or "rtl" (the
    language's); `align` "start" (left for ltr, right for rtl), "end",
    "left", "right" or "middle"; `space_before`/`space_after` in points
    (platypus adds them between flowables). Usable as a table cell.
    """

    def __init__(self, text: str, size: float, leading: float, direction: str, chain: FontChain | None = None,
                 align: str = "start", color=colors.black, space_before: float = 0, space_after: float = 0):
        super().__init__()
        _base_level(direction)
        self.text, self.size, self.leading, self.direction = text, size, leading, direction
        self.chain = chain or noto_fonts()
        self.align, self.color = align, color
        self.spaceBefore, self.spaceAfter = space_before, space_after
        self._lines: list[tuple[str, list[int]]] = []
        self._width = 0.0

    def wrap(self, availWidth, availHeight):
        """Break into lines for `availWidth` points; returns (width, height) in points."""
        self._width = availWidth
        self._lines = wrap_lines(self.text, availWidth, self.size, self.direction, self.chain)
        self.width, self.height = availWidth, self.leading * len(self._lines)
        return self.width, self.height

    def draw(self):
        """Draw the lines from the top: the first baseline `size` below it, then one `leading` apart (as Paragraph)."""
        canvas = self.canv
        canvas.setFillColor(self.color)
        anchor = self.align
        if anchor in ("start", "end"):
            anchor = {("start", "ltr"): "left", ("start", "rtl"): "right",
                      ("end", "ltr"): "right", ("end", "rtl"): "left"}[anchor, self.direction]
        x = {"left": 0.0, "right": self._width, "middle": self._width / 2}[anchor]
        y = self.height - self.size
        for text, levels in self._lines:
            draw_line(canvas, x, y, text, self.size, self.direction, self.chain, anchor, levels)
            y -= self.leading
