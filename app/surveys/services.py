"""Loading survey files into stored, versioned survey definitions."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from .definition import DefinitionError, SurveyDefinition, parse_definition
from .models import SurveyVersion

LIBRARY_DIR = Path(__file__).parent / "library"


def builtin_files() -> list[Path]:
    """The built-in survey files (app/surveys/library/*.yaml), sorted by name."""
    return sorted(LIBRARY_DIR.glob("*.yaml"))


def read_document(path: Path) -> dict:
    """The file as the database will keep it (JSON types), validated."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise DefinitionError(f"{path.name}: not valid YAML: {error}") from error
    # A JSON round trip gives exactly what a JSON column will return later.
    document = json.loads(json.dumps(raw, ensure_ascii=False))
    try:
        parse_definition(document)
    except DefinitionError as error:
        raise DefinitionError(f"{path.name}: {error}") from error
    return document


def digest(document: dict) -> str:
    """SHA-256 (64 hex characters) of `document`'s canonical JSON: equal digests mean equal content."""
    canonical = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def store_version(session: Session, document: dict) -> tuple[SurveyVersion, bool]:
    """Store a validated document; (version, created). Same key+version must mean same content."""
    definition: SurveyDefinition = parse_definition(document)
    existing = session.scalar(
        select(SurveyVersion).where(
            SurveyVersion.key == definition.key, SurveyVersion.version == definition.version
        )
    )
    document_digest = digest(document)
    if existing is not None:
        if existing.digest != document_digest:
            raise DefinitionError(
                f"{definition.key} version {definition.version} is already loaded with other "
                "content; raise 'version' in the file to load a changed survey"
            )
        return existing, False
    version = SurveyVersion(
        key=definition.key, version=definition.version, document=document, digest=document_digest
    )
    session.add(version)
    session.flush()
    return version, True


def load_builtin(session: Session) -> list[SurveyVersion]:
    """Store every built-in survey version not yet in the database; the versions in file order.

    Raises DefinitionError for an invalid file or a changed file whose version was not raised.
    """
    return [store_version(session, read_document(path))[0] for path in builtin_files()]
