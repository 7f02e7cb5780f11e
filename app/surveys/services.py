"""Loading survey files into stored, versioned survey definitions."""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from .definition import DefinitionError, Question, ScaleQuestion, SurveyDefinition, parse_definition
from .models import SurveyVersion

LIBRARY_DIR = Path(__file__).parent / "library"

#: PyYAML's safe loader, in C (libyaml) where the wheel has it: the same documents, about ten times faster.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def builtin_files() -> list[Path]:
    """The built-in survey files (app/surveys/library/*.yaml), sorted by name."""
    return sorted(LIBRARY_DIR.glob("*.yaml"))


def read_document(path: Path) -> dict:
    """The file as the database will keep it (JSON types), validated; a new dict on every call.

    Raises DefinitionError for a file that is not valid YAML or not a valid new survey definition.
    """
    stat = path.stat()
    return json.loads(_validated_json(path, stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=32)
def _validated_json(path: Path, _modified_ns: int, _size: int) -> str:
    """The file read, validated and written as JSON text; made once per version of the file (path, mtime, size).

    The built-in library is read at every start and every demo, and the
    YAML parse is most of that: libyaml's parser where PyYAML has it, and
    a file read only once while it is unchanged.
    """
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
    except yaml.YAMLError as error:
        raise DefinitionError(f"{path.name}: not valid YAML: {error}") from error
    # A JSON round trip gives exactly what a JSON column will return later.
    text = json.dumps(raw, ensure_ascii=False)
    try:
        check_new_definition(parse_definition(json.loads(text)))
    except DefinitionError as error:
        raise DefinitionError(f"{path.name}: {error}") from error
    return text



def check_new_definition(definition: SurveyDefinition) -> None:
    """Rules for a survey being loaded now, beyond what every stored version met.

    `parse_definition` also reads versions stored long ago, so a rule added
    later lives here: it refuses a new file without making an old campaign's
    version unreadable. Raises DefinitionError.

    - share_positive: one `positive_from` on every index question's scale
      (the results read the threshold from the first index question).
    """
    index = definition.index
    if index.method == "share_positive":
        thresholds = {definition.question(key).scale.positive_from for key in index.questions}  # type: ignore[attr-defined]
        if len(thresholds) != 1:
            raise DefinitionError("index: share_positive needs one positive_from on all index questions' scales")


def digest(document: dict) -> str:
    """SHA-256 (64 hex characters) of `document`'s canonical JSON: equal digests mean equal content."""
    canonical = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def store_version(session: Session, document: dict) -> tuple[SurveyVersion, bool]:
    """Store a validated document as a survey version.

    Takes a document as `read_document` returns it; returns (the stored
    version, True if it was stored now / False if it was there already).
    A stored version is never changed: campaigns and their answers keep
    pointing at it, so loading a changed survey needs a higher `version`.

    Raises DefinitionError when the document is invalid, when the same key
    and version is already stored with other content, or when a question key
    that another version of the survey uses changes its kind (see
    `question_kind`).
    """
    definition: SurveyDefinition = parse_definition(document)
    check_new_definition(definition)
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
    _check_question_kinds(session, definition)
    version = SurveyVersion(
        key=definition.key, version=definition.version, document=document, digest=document_digest
    )
    session.add(version)
    session.flush()
    return version, True


def question_kind(question: Question) -> tuple[str, str | None, int | None]:
    """What a question's stored answers mean: (type, scale name, scale points).

    Two versions of a survey may word a question differently, but answers
    stored under one key must stay comparable across versions (a trend over
    years reads them by key): a yes/no answer (0/1) and a 1-5 rating, or an
    agreement and an amount on different 1-5 scales, must not share a key.
    """
    scale = question.scale if isinstance(question, ScaleQuestion) else None
    return (question.type, scale.name if scale else None, scale.points if scale else None)


def _check_question_kinds(session: Session, definition: SurveyDefinition) -> None:
    new_kinds = {question.key: question_kind(question) for question in definition.questions}
    others = session.scalars(
        select(SurveyVersion).where(SurveyVersion.key == definition.key, SurveyVersion.version != definition.version)
    )
    for other in others:
        for question in other.definition.questions:
            kind = new_kinds.get(question.key)
            if kind is not None and kind != question_kind(question):
                raise DefinitionError(
                    f"{definition.key} version {definition.version}: question {question.key!r} is "
                    f"{_describe(kind)} but {_describe(question_kind(question))} in version {other.version}; "
                    "answers of another kind need a new question key"
                )


def _describe(kind: tuple[str, str | None, int | None]) -> str:
    question_type, scale, points = kind
    return f"a {question_type} question" + (f" on scale {scale!r} ({points} points)" if scale else "")


def load_builtin(session: Session) -> list[SurveyVersion]:
    """Store every survey file in the library (see `store_version`); the stored versions, in file order.

    Raises DefinitionError for an invalid file or a changed file whose version was not raised.
    """
    return [store_version(session, read_document(path))[0] for path in builtin_files()]
