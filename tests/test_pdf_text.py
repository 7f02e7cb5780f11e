"""app/pdftext.py: bidi runs and their visual order, fonts per run, shaping, and the report in Arabic.

pdftotext garbles Arabic script (tech-notes), so the drawn output is
checked by rendering with pdftoppm and reading pixels; the run lists are
worked out by hand from UAX #9 in the comments.
"""

from __future__ import annotations

import io
import unicodedata
import shutil
import subprocess

import pytest
from PIL import Image
from reportlab.pdfbase.ttfonts import ShapedStr
from reportlab.pdfgen.canvas import Canvas

from app import pdftext
from app.pdftext import Run

from .results_fixtures import add, build_results_world
from .test_exports import pdf_text, signed_in

needs_poppler = pytest.mark.skipif(shutil.which("pdftoppm") is None or shutil.which("pdffonts") is None,
                                   reason="poppler-utils not installed")
needs_arabic_font = pytest.mark.skipif("KrArabic" not in pdftext.registered_fonts(),
                                       reason="fonts-noto-core not installed")


def test_arabic_mean_with_a_latin_number_and_percent():
    # "متوسط 4,8 %" in an RTL paragraph (level 1). Types: 5 x AL, WS, EN CS EN, WS, ET.
    # W2: the EN after AL become AN; W4: CS between AN -> AN ("4,8" is AN); ET stays, W6 -> ON.
    # N1: " " between AL(R) and AN(R) -> R; " %" between AN(R) and eor(R) -> R.
    # I2: AN at level 1 -> 2. Logical runs: "متوسط " 1, "4,8" 2, " %" 1; L2 reverses level >= 1:
    assert pdftext.visual_runs("متوسط 4,8 %", "rtl") == [Run(" %", 1), Run("4,8", 2), Run("متوسط ", 1)]


def test_latin_abbreviation_with_arabic_indic_digits():
    # "NKI ٤٫٨" in RTL: NKI L -> level 2 (I2), ٤٫٨ AN (U+066B is AN) -> 2,
    # the space between L and AN(R) -> N2 embedding direction R -> 1.
    # L2: reverse runs >= 2 one by one (no change), then all >= 1: the number stands left of NKI.
    assert pdftext.visual_runs("NKI ٤٫٨", "rtl") == [Run("٤٫٨", 2), Run(" ", 1), Run("NKI", 2)]
    # In an LTR paragraph nothing moves: NKI 0, " " 0 (L and R disagree -> embedding L), the number 2.
    assert pdftext.visual_runs("NKI ٤٫٨", "ltr") == [Run("NKI ", 0), Run("٤٫٨", 2)]


def test_multi_digit_numbers_keep_their_order():
    text = "العدد 123 و ١٢٣"
    runs = pdftext.visual_runs(text, "rtl")
    # Left to right on the page: ١٢٣, " و ", 123, "العدد " - each number one run, digits as typed.
    assert [run.text for run in runs] == ["١٢٣", " و ", "123", "العدد "]
    assert [run.rtl for run in runs] == [False, True, False, True]
    laid = pdftext.layout(text, 10, "rtl")
    drawn = [string for string, _font, _width in laid]
    # The numbers are handed to ReportLab unshaped, in logical order (123, not 321).
    assert "123" in drawn and "١٢٣" in drawn and "321" not in drawn and "٣٢١" not in drawn


@needs_arabic_font
def test_fonts_per_run_and_brackets_mirrored():
    runs = pdftext.visual_runs("(مرحبا) info@example.se", "rtl")
    # "(مرحبا) " is R (brackets and space between R and the L run's sor... resolved R), the address L at 2.
    assert runs == [Run("info@example.se", 2), Run("(مرحبا) ", 1)]
    pieces = pdftext.font_runs(runs[1], pdftext.noto_fonts())
    # Noto Sans Arabic has no ASCII brackets (tech-notes): logical "(" KrSans, letters KrArabic,
    # ") " KrSans (the space stays with the font before it) - reversed for the page.
    assert [(p.text, p.font) for p in pieces] == [(") ", "KrSans"), ("مرحبا", "KrArabic"), ("(", "KrSans")]
    laid = pdftext.layout("(مرحبا) info@example.se", 10, "rtl")
    strings = [string for string, _font, _width in laid]
    # HarfBuzz with RTL reverses ") " to " " then ")" mirrored to "(": the left bracket stands left.
    assert strings[0] == "info@example.se" and str(strings[1]) == " (" and str(strings[3]) == ")"
    # The word is shaped (joined forms), not merely reversed.
    assert isinstance(strings[2], ShapedStr) and str(strings[2]) != "مرحبا"[::-1]


def test_zero_width_non_joiner_keeps_its_place_and_marks_are_not_drawn():
    # Persian "می‌خواهم" has a ZWNJ (bidi BN, removed by rule X9): it still gets a level.
    text = "می\u200cخواهم"
    assert pdftext.embedding_levels(text, "rtl") == [1] * 8
    # RLM steers the order of an Arabic date (15/01/2027 -> 2027/01/15 on the page) and is not drawn.
    runs = pdftext.visual_runs("15\u200f/01\u200f/2027", "rtl")
    assert [run.text for run in runs] == ["2027", "/", "01", "/", "15"]
    with pytest.raises(ValueError):
        pdftext.visual_runs("x", "up")


def ink_box(pdf: bytes, page: int = 1, dpi: int = 72, above: int | None = None) -> tuple[int, int, int, int]:
    """The bounding box (left, top, right, bottom) in pixels of the non-white pixels of `page` (72 dpi: 1 px = 1 pt),
    of its part above pixel row `above` if given."""
    done = subprocess.run(["pdftoppm", "-r", str(dpi), "-f", str(page), "-l", str(page), "-gray", "-png", "-"],
                          input=pdf, capture_output=True, check=True)
    image = Image.open(io.BytesIO(done.stdout)).point(lambda v: 255 if v < 200 else 0)
    if above is not None:
        image = image.crop((0, 0, image.width, above))
    return image.getbbox()


@needs_poppler
@needs_arabic_font
def test_draw_line_anchors_rtl_text_at_its_right_edge():
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(300, 100))
    width = pdftext.draw_line(canvas, 250, 50, "متوسط 4,8 %", 20, "rtl")
    canvas.save()
    left, _top, right, _bottom = ink_box(buffer.getvalue())
    # "start" of an RTL line is its right edge: the ink ends at x = 250 and begins about `width` before.
    assert 245 <= right <= 251
    assert abs(left - (250 - width)) <= 5 and width > 60


@needs_poppler
@needs_arabic_font
def test_the_report_in_arabic_uses_the_arabic_font_and_is_right_aligned(app, make_user):
    world = build_results_world(app, providers=("نورلیوس کوچینگ", "Bro Coachning"))
    add(app, world, "نورلیوس کوچینگ", {"a": 4, "b": 4}, times=5)
    add(app, world, "Bro Coachning", {"a": 2, "b": 2}, times=5)
    campaign = world.campaigns["2027"]
    response = signed_in(app, make_user, name="ar", language="ar").get(f"/staff/results/{campaign}/report.pdf")
    assert response.status_code == 200
    pdf = response.get_data()
    fonts = subprocess.run(["pdffonts", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert "NotoSansArabic-Regular" in fonts and "NotoSansArabic-Bold" in fonts
    # No fallback notice (it would be Latin text, which pdftotext reads).
    assert "This report is in English" not in pdf_text(response)
    # A4 is 595 pt wide, margins 2 cm = 56.7 pt: RTL text ends at the right margin (595 - 56.7 = 538)
    # and the title page's short lines - its upper third, above the facts and the note that fill a line - do not
    # reach the left one.
    left, _top, right, _bottom = ink_box(pdf, above=280)
    assert 530 <= right <= 540 and left > 80, (left, right)
    swedish = signed_in(app, make_user, name="sv", language="sv").get(f"/staff/results/{campaign}/report.pdf")
    left, _top, right, _bottom = ink_box(swedish.get_data())
    # Swedish starts at the left margin (56.7 pt; the first glyphs' side bearings add a few points).
    assert 54 <= left <= 66


@needs_arabic_font
@pytest.mark.parametrize("word", ["نورليوسكوتشينجللتدريبوالتأهيلالمهنيوالتوظيف", "Arbetsmarknadsintegrationskonsulterna",
                                  "ሰላምኣገልግሎትምኽሪስራሕንትምህርትን", "كُتُبٌ" * 8])
def test_a_word_wider_than_its_column_is_broken_into_pieces_that_fit(word):
    # The breaker's provider name ran across the figures of a right-to-left table: a word was never broken.
    direction = "rtl" if pdftext.has_rtl(word) else "ltr"
    lines = pdftext.wrap_lines(word, 60, 8, direction)
    assert len(lines) > 1 and "".join(text for text, _levels in lines) == word
    assert all(pdftext.line_width(text, 8, direction) <= 60 for text, _levels in lines)
    # No line starts with a combining mark (the vowel signs of "كُتُبٌ" stay with their letters).
    assert not any(unicodedata.combining(text[0]) for text, _levels in lines)
    # Words that fit still break at spaces only: the lines joined by a space are the text again.
    text = "Bro AB och Ek AB med Dal AB"
    lines = [line for line, _levels in pdftext.wrap_lines(text, 40, 8, "ltr")]
    assert len(lines) > 1 and " ".join(lines) == text
