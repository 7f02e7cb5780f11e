"""Link tokens: random, short enough for an SMS, stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets
import string

# Letters and digits only: some phones cut an SMS link at a trailing "-" or "_".
ALPHABET = string.ascii_letters + string.digits
#: 22 characters of 62 symbols: about 131 bits, beyond any guessing.
INVITATION_TOKEN_LENGTH = 22
#: Open links are printed on posters and are not secret; 10 characters keep QR codes small.
OPEN_LINK_CODE_LENGTH = 10


def new_token(length: int = INVITATION_TOKEN_LENGTH) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def looks_like_token(value: str, length: int = INVITATION_TOKEN_LENGTH) -> bool:
    return len(value) == length and all(ch in ALPHABET for ch in value)
