"""Link tokens: random, short enough for an SMS, stored only as a hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string

# Letters and digits only: some phones cut an SMS link at a trailing "-" or "_".
ALPHABET = string.ascii_letters + string.digits
#: 22 characters of 62 symbols: about 131 bits, beyond any guessing.
INVITATION_TOKEN_LENGTH = 22
#: Open links are printed on posters and are not secret; 10 characters keep QR codes small.
OPEN_LINK_CODE_LENGTH = 10


def new_token(length: int = INVITATION_TOKEN_LENGTH) -> str:
    """A random token of `length` letters and digits (from `secrets`)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def derived_token(seed: bytes, index: int, length: int = INVITATION_TOKEN_LENGTH) -> str:
    """Token number `index` (0, 1, ...) of a batch whose secret is `seed` (32 bytes).

    HMAC-SHA256(seed, "invitation <index>") read as a number and written in
    base 62: 256 bits into 22 digits of about 131, so every digit is as good
    as uniform (the bias is below 2**-124). Whoever holds the seed can show
    the batch's links again; the database keeps neither the seed nor the
    tokens, only the tokens' SHA-256 (campaigns/views.py, docs/anonymity.md).
    """
    number = int.from_bytes(hmac.new(seed, b"invitation %d" % index, hashlib.sha256).digest(), "big")
    digits = []
    for _ in range(length):
        number, digit = divmod(number, len(ALPHABET))
        digits.append(ALPHABET[digit])
    return "".join(digits)


def token_hash(token: str) -> str:
    """SHA-256 (hex) of a token: all that an invitation keeps of it."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def looks_like_token(value: str, length: int = INVITATION_TOKEN_LENGTH) -> bool:
    """Whether `value` has the form of `new_token(length)`: exactly `length` ASCII letters and digits."""
    return len(value) == length and all(ch in ALPHABET for ch in value)
