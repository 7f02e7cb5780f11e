"""Answer keys: private halves in a folder on the mixing host, public halves in the database.

The mixer makes a key pair, writes the private key to its folder (atomically,
fsynced, before anything else can use it) and only then publishes the public
key in `answer_key`. App nodes read the newest published key and seal
answers to it; they hold nothing that opens them. When a newer key has been
published for a while, the mixer re-encrypts what waits to it, deletes the
old key's row - which the database refuses while any waiting answer still
names it - and then erases the old private key file. A file whose key has
no row (a crash between those steps, or before publishing) is erased when
the mixer next starts.

Erasure overwrites the file with zeros, fsyncs and unlinks it. On
journaling file systems and SSDs an old copy of the blocks may survive
(copy-on-write, wear levelling): erasure is best effort, and the key folder
belongs on an encrypted volume that is not backed up with the database.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import select
from sqlalchemy.engine import Connection

from .models import AnswerKey

KEY_SUFFIX = ".key"
#: In a key folder: the generation of the last key change (see installation.py).
GENERATION_FILE = "generation"
#: In a key folder: locked by the mixer using the folder (POSIX lock, per process).
LOCK_FILE = ".lock"
#: Bytes of a raw X25519 private key.
PRIVATE_KEY_BYTES = 32


def fingerprint(public_key: bytes) -> str:
    """A file name for a key: the first 128 bits of SHA-256 of the raw public key, in hex."""
    return hashlib.sha256(public_key).hexdigest()[:32]


def public_bytes(private_key: X25519PrivateKey) -> bytes:
    """The raw 32-byte public key of a private key."""
    return private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class KeyFolder:
    """The private answer keys of one installation: `<root>/<installation id>/<fingerprint>.key`.

    Files are raw 32-byte X25519 private keys, mode 0600, in a folder of
    mode 0700. Raises OSError when the folder cannot be made or written.
    """

    def __init__(self, root: Path, installation_id: str):
        self.folder = Path(root) / installation_id

    def _ensure(self) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)

    def path_for(self, public_key: bytes) -> Path:
        """Where the private key of a raw 32-byte public key lives (whether or not it exists)."""
        return self.folder / (fingerprint(public_key) + KEY_SUFFIX)

    def create(self) -> bytes:
        """Make a key pair and write its private key durably; return the raw public key.

        The file is complete on disk (written to a temporary name, fsynced,
        renamed, the folder fsynced) before this returns, so that a public
        key published afterwards always has its private key.
        """
        self._ensure()
        private_key = X25519PrivateKey.generate()
        public_key = public_bytes(private_key)
        final = self.path_for(public_key)
        temporary = self.folder / f".{final.name}.{secrets.token_hex(4)}.tmp"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(descriptor, private_key.private_bytes_raw())
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(temporary, final)
        _fsync_folder(self.folder)
        return public_key

    def holds(self, public_key: bytes) -> bool:
        """Whether the folder has a working private key for this public key (its pair, not a damaged file)."""
        if not public_key:
            return False
        try:
            private_key = self.load(public_key)
        except ValueError:
            return False
        return private_key is not None and public_bytes(private_key) == public_key

    def load(self, public_key: bytes) -> X25519PrivateKey | None:
        """The private key of a published key, or None if its file is gone.

        Raises ValueError for a file that is not a 32-byte X25519 key.
        """
        try:
            raw = self.path_for(public_key).read_bytes()
        except FileNotFoundError:
            return None
        return X25519PrivateKey.from_private_bytes(raw)

    def fingerprints(self) -> set[str]:
        """Fingerprints of every key file present (temporary files excluded)."""
        if not self.folder.is_dir():
            return set()
        return {path.name[: -len(KEY_SUFFIX)] for path in self.folder.glob("*" + KEY_SUFFIX)}

    def erase(self, key_fingerprint: str) -> None:
        """Overwrite a key file with zeros, fsync, unlink and fsync the folder (best effort, see module doc)."""
        path = self.folder / (key_fingerprint + KEY_SUFFIX)
        try:
            descriptor = os.open(path, os.O_WRONLY)
        except FileNotFoundError:
            return
        try:
            os.write(descriptor, bytes(PRIVATE_KEY_BYTES))
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        path.unlink()
        _fsync_folder(self.folder)

    def lock(self) -> int:
        """Lock the folder for this process; return the descriptor to keep open.

        Raises BlockingIOError when another process has it: two databases
        (an original and its copy) never use one folder at the same time.
        """
        self._ensure()
        descriptor = os.open(self.folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.lockf(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(descriptor)
            raise BlockingIOError("another mixer uses this key folder") from None
        return descriptor

    def generation(self) -> int:
        """The generation written last (0 for a new folder)."""
        try:
            return int((self.folder / GENERATION_FILE).read_text().strip() or 0)
        except FileNotFoundError:
            return 0

    def write_generation(self, generation: int) -> None:
        """Record `generation` durably (temporary file, fsync, rename, folder fsync)."""
        self._ensure()
        temporary = self.folder / f".{GENERATION_FILE}.{secrets.token_hex(4)}.tmp"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(descriptor, str(generation).encode())
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(temporary, self.folder / GENERATION_FILE)
        _fsync_folder(self.folder)

    def erase_leftover_temporaries(self) -> None:
        """Temporary files of a key write that crashed before its rename."""
        if self.folder.is_dir():
            for path in self.folder.glob(".*.tmp"):
                path.unlink(missing_ok=True)


@dataclass(frozen=True)
class PublishedKey:
    """The key app nodes seal to: its row id and raw 32-byte public key."""

    id: int
    public_key: bytes


_NEWEST = select(AnswerKey.id, AnswerKey.public_key).order_by(AnswerKey.id.desc()).limit(1)


class PublishedKeys:
    """The newest published answer key, as one app process last read it.

    Read at most every `seconds`; `forget()` after the database refused a
    key (the mixer retired it) makes the next `current` read afresh.
    """

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self.clock = clock
        self._key: PublishedKey | None = None
        self._read_at = float("-inf")

    def current(self, connection: Connection) -> PublishedKey | None:
        """The newest key, or None when the mixer has published none yet."""
        now = self.clock()
        if self._key is None or now - self._read_at >= self.seconds:
            row = connection.execute(_NEWEST).first()
            self._key = PublishedKey(row.id, bytes(row.public_key)) if row else None
            self._read_at = now
        return self._key

    def forget(self) -> None:
        """Read the newest key afresh at the next `current` (the database refused this one)."""
        self._key = None
