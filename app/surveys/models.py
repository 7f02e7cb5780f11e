from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Integer, String, UniqueConstraint, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..db import Base
from .definition import SurveyDefinition, parse_definition


class SurveyVersion(Base):
    """One version of a survey definition, frozen once loaded."""

    __tablename__ = "survey_version"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60))
    version: Mapped[int] = mapped_column(Integer)
    #: The validated YAML document, as loaded.
    document: Mapped[dict] = mapped_column(JSON)
    #: SHA-256 of the canonical JSON of `document`; tells a reload from a change.
    digest: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    @property
    def definition(self) -> SurveyDefinition:
        """The parsed definition (parsed once per process per digest)."""
        return _parsed(self.digest, self.document)

    def title_in(self, language_code: str) -> str:
        """The survey's title for staff reading in `language_code`, else in its first language."""
        titles = self.definition.title
        return titles.get(language_code) or titles[self.definition.languages[0]]


_PARSED: dict[str, SurveyDefinition] = {}


def _parsed(digest: str, document: dict) -> SurveyDefinition:
    # A stored version never changes, so its digest names its parsed form for
    # the life of the process; parsing on every page view would cost more
    # than rendering it.
    definition = _PARSED.get(digest)
    if definition is None:
        definition = _PARSED[digest] = parse_definition(document)
    return definition


def definition_of(reader: Session | Connection, version_id: int, digest: str) -> SurveyDefinition:
    """The parsed definition of a stored version, known by its digest.

    Respondent pages know the digest from the row they read anyway; the
    document itself is read only the first time this process meets it.
    """
    definition = _PARSED.get(digest)
    if definition is None:
        document = reader.scalar(select(SurveyVersion.document).where(SurveyVersion.id == version_id))
        definition = _parsed(digest, document)
    return definition
