"""What a waiting answer holds, and how it is sealed.

A customer's answers travel from the request that sent them to the mixing
step as one `AnswerSheet`, encoded as JSON, padded to one size per survey
version and encrypted with HPKE (RFC 9180, as implemented by the
`cryptography` package: X25519 key encapsulation, HKDF-SHA256,
ChaCha20-Poly1305) to the current answer key. Only the mixing host holds the
private keys; an app node can seal but never open.

Why one size per survey version: a ciphertext's length would otherwise
give away how long the free text was, and the stored response shows that
text - pairing the two. Every sheet of a survey version is padded to the
same size (the longest sheet that version allows, rounded up to 512 bytes),
so length says only which survey was answered, which the campaign says
anyway. See docs/anonymity.md and docs/performance.md for the cost.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from datetime import date
from typing import Any, Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

from ..surveys.definition import (
    FREE_TEXT_MAX,
    ChoiceQuestion,
    ScaleQuestion,
    StoredAnswer,
    SurveyDefinition,
    TextQuestion,
)

SUITE = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.CHACHA20_POLY1305)
#: Bytes HPKE adds: the 32-byte encapsulated key and the 16-byte AEAD tag.
SEAL_OVERHEAD = 32 + 16
#: Sheets are padded to a multiple of this many bytes.
SIZE_STEP = 512
#: The sheet's length in front of it, so that the padding can be cut off.
_LENGTH = struct.Struct(">I")
#: Raise when the encoding changes; `open_sheet` refuses other versions.
FORMAT = 1


class SealError(ValueError):
    """A waiting answer that cannot be opened: wrong key, wrong campaign, or damaged."""


@dataclass(frozen=True)
class Cell:
    """A response's stored cell: every attribute it keeps besides its answers' values.

    None in a field means merged into "other" (docs/anonymity.md,
    "Coarsening"). `background` pairs each background question's key with
    the option chosen (None: not answered), in survey order; an empty tuple
    means the background answers were withheld.
    """

    provider_id: int | None
    programme_id: int | None
    language: str | None
    channel: str | None
    month: date | None
    background: tuple[tuple[str, str | None], ...]


@dataclass(frozen=True)
class AnswerSheet:
    """Everything one customer sent, as the mixing step needs it.

    `month` is the first day of the month the answers were sent, in the
    municipality's time zone; `status` is "complete" or "partial"
    (`SurveyDefinition.status_of`); `language` is the language answered in.
    """

    survey_version_id: int
    provider_id: int
    programme_id: int
    channel: str
    language: str
    month: date
    status: str
    answers: Mapping[str, StoredAnswer]

    def cell(self, definition: SurveyDefinition) -> Cell:
        """The finest cell this sheet can be stored in."""
        background = tuple(
            (q.key, self.answers[q.key].choice if q.key in self.answers else None)
            for q in definition.background_questions
        )
        return Cell(self.provider_id, self.programme_id, self.language, self.channel, self.month, background)


def _encode_answer(answer: StoredAnswer) -> list:
    if answer.dont_know:
        return ["d"]
    if answer.choice is not None:
        return ["c", answer.choice]
    if answer.text is not None:
        return ["t", answer.text]
    return ["v", answer.value]


def _decode_answer(raw: list) -> StoredAnswer:
    kind = raw[0]
    if kind == "d":
        return StoredAnswer(dont_know=True)
    if kind == "c":
        return StoredAnswer(choice=str(raw[1]))
    if kind == "t":
        return StoredAnswer(text=str(raw[1]))
    if kind == "v":
        return StoredAnswer(value=int(raw[1]))
    raise SealError(f"unknown answer kind {kind!r}")


def encode(sheet: AnswerSheet) -> bytes:
    """The sheet as compact UTF-8 JSON (no padding)."""
    document: dict[str, Any] = {
        "f": FORMAT,
        "sv": sheet.survey_version_id,
        "p": sheet.provider_id,
        "g": sheet.programme_id,
        "c": sheet.channel,
        "l": sheet.language,
        "m": sheet.month.isoformat(),
        "s": sheet.status,
        "a": {key: _encode_answer(answer) for key, answer in sheet.answers.items()},
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decode(data: bytes) -> AnswerSheet:
    """The inverse of `encode`. Raises SealError on anything else."""
    try:
        document = json.loads(data.decode("utf-8"))
        if document.get("f") != FORMAT:
            raise SealError(f"unknown sheet format {document.get('f')!r}")
        return AnswerSheet(
            survey_version_id=int(document["sv"]),
            provider_id=int(document["p"]),
            programme_id=int(document["g"]),
            channel=str(document["c"]),
            language=str(document["l"]),
            month=date.fromisoformat(document["m"]),
            status=str(document["s"]),
            answers={str(key): _decode_answer(raw) for key, raw in document["a"].items()},
        )
    except (ValueError, KeyError, TypeError, IndexError) as error:
        raise SealError(f"damaged sheet: {error}") from error


def _longest_answer(question) -> StoredAnswer:
    if isinstance(question, ScaleQuestion):
        return StoredAnswer(value=question.scale.points)  # type: ignore[union-attr]
    if isinstance(question, ChoiceQuestion):
        return StoredAnswer(choice=max((o.key for o in question.options), key=len))
    if isinstance(question, TextQuestion):
        # The limit counts UTF-16 code units: a character of the Basic
        # Multilingual Plane is one unit and at most 3 bytes of UTF-8, one
        # beyond it two units and 4 bytes - so 3 bytes a unit at most. JSON
        # escapes (\n, \", \t) take 2; control characters never reach here
        # (app/text.py).
        return StoredAnswer(text="\uffff" * FREE_TEXT_MAX)
    return StoredAnswer(value=1)


#: (survey key, version) -> padded size; a stored version never changes.
_SIZES: dict[tuple[str, int], int] = {}


def padded_size(definition: SurveyDefinition) -> int:
    """Bytes every sheet of this survey version is padded to before sealing.

    The encoded length of the longest sheet the version allows (every
    question answered with its longest value, free text at its limit of
    UTF-16 code units at three bytes each), plus the length prefix, rounded
    up to SIZE_STEP. With one comment box that stays under SQLite's 4 KiB
    page, so a waiting answer is written as one page, not an overflow chain.
    """
    key = (definition.key, definition.version)
    size = _SIZES.get(key)
    if size is None:
        longest = AnswerSheet(
            survey_version_id=2**31 - 1,
            provider_id=2**31 - 1,
            programme_id=2**31 - 1,
            channel="x" * 10,
            language="x" * 8,
            month=date(9999, 12, 1),
            status="complete",
            answers={q.key: _longest_answer(q) for q in definition.questions},
        )
        needed = _LENGTH.size + len(encode(longest))
        size = _SIZES[key] = -(-needed // SIZE_STEP) * SIZE_STEP
    return size


def _info(campaign_id: int) -> bytes:
    # Binds the ciphertext to its campaign: a row moved to another campaign
    # does not open.
    return b"kundrost waiting answer; campaign %d" % campaign_id


def seal(sheet: AnswerSheet, public_key: bytes, campaign_id: int, size: int) -> bytes:
    """Encode, pad to `size` bytes and encrypt to the raw X25519 `public_key`.

    Returns `size + SEAL_OVERHEAD` bytes. Raises ValueError if the sheet does
    not fit (it always does when `size` is `padded_size` of its survey).
    """
    body = encode(sheet)
    if _LENGTH.size + len(body) > size:
        raise ValueError(f"a sheet of {len(body)} bytes does not fit in {size}")
    plain = _LENGTH.pack(len(body)) + body
    plain += bytes(size - len(plain))
    return SUITE.encrypt(plain, X25519PublicKey.from_public_bytes(public_key), info=_info(campaign_id))


def open_sealed(sealed: bytes, private_key: X25519PrivateKey, campaign_id: int) -> AnswerSheet:
    """Decrypt and decode a waiting answer. Raises SealError if it does not open."""
    try:
        plain = SUITE.decrypt(sealed, private_key, info=_info(campaign_id))
    except (InvalidTag, ValueError) as error:
        raise SealError("the answer does not open with this key for this campaign") from error
    (length,) = _LENGTH.unpack_from(plain)
    if _LENGTH.size + length > len(plain):
        raise SealError("damaged length prefix")
    return decode(plain[_LENGTH.size:_LENGTH.size + length])
