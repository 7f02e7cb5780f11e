"""Password hashing with argon2id (argon2-cffi's maintained defaults)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
#: A real hash of a random password: verifying against it when the user does
#: not exist costs the same time as for a real user.
_DUMMY_HASH = _hasher.hash("kundrost-no-such-user")

MIN_LENGTH = 12


def hash_password(password: str) -> str:
    """An argon2id hash of `password` with a fresh salt, as a PHC string ("$argon2id$v=19$...")."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches `password_hash`.

    False for a wrong password, a malformed hash, and for None (no such
    account) - the latter after verifying against a dummy hash, so that it
    takes as long as a real account's check.
    """
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether `password_hash` was made with other argon2 parameters than today's defaults.

    Raises argon2's InvalidHashError for a hash that is not argon2
    (`authenticate` asks only after `verify_password` accepted it).
    """
    return _hasher.check_needs_rehash(password_hash)
