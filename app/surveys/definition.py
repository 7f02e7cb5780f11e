"""Survey definitions: parsed from YAML, validated, immutable.

The file format is documented in docs/surveys.md. A `SurveyDefinition` is
what a survey *is* (questions, texts in every language, index rule); the
database keeps the raw document per version (see models.py) and rebuilds
the definition from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

from ..i18n.languages import LANGUAGES
from ..text import browser_length, typed_text

# \Z, not $: "$" matches before a final line break too, and "mini\n" would
# be a second survey (or question) key that looks like "mini".
KEY_PATTERN = re.compile(r"^[a-z0-9_]{1,40}\Z")
SURVEY_KEY_PATTERN = re.compile(r"^[a-z0-9-]{1,60}\Z")
#: The most background questions (gender, age band, ...) a survey may mark: each one splits every
#: anonymity cell of the mixer (docs/anonymity.md) and doubles the groupings the anonymised-answers
#: export checks (app/analytics/exports.py); the reports compare at most gender and age.
MAX_BACKGROUND_QUESTIONS = 3
#: Longest free-text answer, in UTF-16 code units as the browser's `maxlength` counts.
FREE_TEXT_MAX = 1000
DONT_KNOW = "dk"
INDEX_METHODS = ("mean", "scb100", "share_positive")


class DefinitionError(ValueError):
    """A survey file that cannot be used; the message says where and why."""


Texts = Mapping[str, str]


@dataclass(frozen=True)
class Scale:
    """A rating scale: `points` (5 or 10) numbered 1..points, 1 the most negative.

    `labels` maps a point to its text per language code; a 5-point scale labels
    every point, a 10-point scale at least its ends. `positive_from` is the lowest
    point that counts as a positive answer (for "share positive", 0-1).
    """

    name: str
    points: int
    labels: Mapping[int, Texts]
    positive_from: int

    def label(self, point: int, language: str) -> str | None:
        """The label of `point` (1..points) in `language` (a code of LANGUAGES), or None for an unlabelled point."""
        texts = self.labels.get(point)
        return texts[language] if texts else None


@dataclass(frozen=True)
class StoredAnswer:
    """One answer as the database keeps it (see respond.models.Answer)."""

    value: int | None = None
    choice: str | None = None
    text: str | None = None
    dont_know: bool = False


@dataclass(frozen=True)
class Option:
    """One answer option of a choice question: `key` is what is posted and stored, `text` its label per language."""

    key: str
    text: Texts


@dataclass(frozen=True)
class Question:
    """One question of a survey; the subclasses are its types (QUESTION_TYPES).

    `key` is unique in the survey and names the answer in storage and exports;
    `section` is the key of its section; `text` maps language code to the
    question's text; `required` questions decide complete vs partial
    (`SurveyDefinition.status_of`).
    """

    key: str
    type: str
    section: str
    text: Texts
    required: bool = False

    def choices(self, language: str) -> list[tuple[str, str]]:
        """(posted value, label) pairs for choice-like questions."""
        return []

    def parse_answer(self, raw: str) -> StoredAnswer | None:
        """The stored form of a posted value; None when left blank.

        Raises ValueError for a value the question never offered.
        """
        raise NotImplementedError

    def fits(self, answer: StoredAnswer) -> bool:
        """Whether `answer` is one `parse_answer` could have given (a check on stored answers)."""
        raise NotImplementedError


@dataclass(frozen=True)
class ScaleQuestion(Question):
    """A question answered on a `scale` (points 1..5 or 1..10), with a "don't know" choice when `dont_know`."""

    scale: Scale | None = None
    dont_know: bool = True

    def choices(self, language: str) -> list[tuple[str, str]]:
        """(posted value, label) for each point 1..points in order; unlabelled points show their number."""
        assert self.scale is not None
        return [
            (str(point), self.scale.label(point, language) or str(point))
            for point in range(1, self.scale.points + 1)
        ]

    def parse_answer(self, raw: str) -> StoredAnswer | None:
        """"" -> None; "dk" -> don't know (when offered); "1".."points" -> that value. Raises ValueError otherwise."""
        assert self.scale is not None
        if raw == "":
            return None
        if raw == DONT_KNOW and self.dont_know:
            return StoredAnswer(dont_know=True)
        # Exactly what the page offers ("1".."10"): not "04" or an Arabic-Indic "٤",
        # which int() would take too.
        if raw in {str(point) for point in range(1, self.scale.points + 1)}:
            return StoredAnswer(value=int(raw))
        raise ValueError(raw)

    def fits(self, answer: StoredAnswer) -> bool:
        """Whether `answer` is a value 1..points or (when offered) don't know, and nothing else."""
        assert self.scale is not None
        if answer.dont_know:
            return self.dont_know and answer == StoredAnswer(dont_know=True)
        return answer == StoredAnswer(value=answer.value) and type(answer.value) is int \
            and 1 <= answer.value <= self.scale.points


@dataclass(frozen=True)
class YesNoQuestion(Question):
    """A yes/no question, stored as value 1 (yes) or 0 (no)."""

    def parse_answer(self, raw: str) -> StoredAnswer | None:
        """"" -> None; "yes" -> value 1; "no" -> value 0. Raises ValueError otherwise."""
        if raw == "":
            return None
        if raw in ("yes", "no"):
            return StoredAnswer(value=1 if raw == "yes" else 0)
        raise ValueError(raw)

    def fits(self, answer: StoredAnswer) -> bool:
        """Whether `answer` is exactly value 0 or 1."""
        return answer in (StoredAnswer(value=0), StoredAnswer(value=1))


@dataclass(frozen=True)
class ChoiceQuestion(Question):
    """A question answered by picking one of `options` (stored as the option's key)."""

    options: tuple[Option, ...] = ()
    #: A background question (gender, age band): something a provider may
    #: know about its customers. Its answer is part of a response's cell,
    #: so it counts in the anonymity set (docs/anonymity.md).
    background: bool = False

    def choices(self, language: str) -> list[tuple[str, str]]:
        """(option key, label in `language`) for each option, in the survey's order."""
        return [(option.key, option.text[language]) for option in self.options]

    def parse_answer(self, raw: str) -> StoredAnswer | None:
        """"" -> None; an option's key -> that choice. Raises ValueError for a key not offered."""
        if raw == "":
            return None
        if any(option.key == raw for option in self.options):
            return StoredAnswer(choice=raw)
        raise ValueError(raw)

    def fits(self, answer: StoredAnswer) -> bool:
        """Whether `answer` is exactly one of the options' keys."""
        return answer == StoredAnswer(choice=answer.choice) and any(o.key == answer.choice for o in self.options)


@dataclass(frozen=True)
class TextQuestion(Question):
    """A free-text answer of at most FREE_TEXT_MAX UTF-16 code units (as the browser's maxlength counts)."""

    def parse_answer(self, raw: str) -> StoredAnswer | None:
        """The text with line breaks normalised to LF and outer space trimmed (app/text.py); None when empty.

        Raises ValueError("too long") beyond FREE_TEXT_MAX UTF-16 code units.
        """
        cleaned = typed_text(raw)
        if not cleaned:
            return None
        if browser_length(cleaned) > FREE_TEXT_MAX:
            raise ValueError("too long")
        return StoredAnswer(text=cleaned)

    def fits(self, answer: StoredAnswer) -> bool:
        """Whether `answer` is a non-empty, already-normalised text within FREE_TEXT_MAX."""
        text = answer.text
        return (answer == StoredAnswer(text=text) and isinstance(text, str) and bool(text)
                and typed_text(text) == text and browser_length(text) <= FREE_TEXT_MAX)


QUESTION_TYPES: dict[str, type[Question]] = {
    "scale": ScaleQuestion,
    "yesno": YesNoQuestion,
    "choice": ChoiceQuestion,
    "text": TextQuestion,
}


@dataclass(frozen=True)
class Section:
    """A titled group of questions, shown together; `title` is None for an untitled section."""

    key: str
    title: Texts | None
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class IndexDefinition:
    """How the survey's satisfaction index (NKI) is computed from `questions` (scale question keys).

    `method` is one of INDEX_METHODS: "mean" (the mean on the questions'
    scale, e.g. 1-5 for the Nacka tables), "scb100" (Statistics Sweden's
    0-100 index for 10-point scales, (mean - 1) x 100 / 9, with optional
    `weights` per question summing to 1) or "share_positive" (the share of
    answers at or above the scale's `positive_from`, shown in per cent).
    Each respondent's index answers give a personal score first, and the
    index is the mean of those (`personal_score`); the conventions are
    described in docs/surveys.md, "Index methods".
    """

    method: str
    questions: tuple[str, ...]
    weights: Mapping[str, float] | None = None


@dataclass(frozen=True)
class SurveyDefinition:
    """What one version of a survey is: its questions and texts in every language and its index rule.

    Built by `parse_definition` from a YAML/JSON document; immutable.
    `version` is a positive integer; a changed survey is a new version, so
    campaigns keep the questions their answers were given to.
    """

    key: str
    version: int
    languages: tuple[str, ...]
    title: Texts
    intro: Texts | None
    scales: Mapping[str, Scale]
    sections: tuple[Section, ...]
    index: IndexDefinition
    _by_key: Mapping[str, Question] = field(default_factory=dict, repr=False, compare=False)

    @property
    def questions(self) -> Iterator[Question]:
        """Every question in survey order, across sections."""
        for section in self.sections:
            yield from section.questions

    def question(self, key: str) -> Question:
        """The question with `key`. Raises KeyError for a key not in this survey."""
        return self._by_key[key]

    @property
    def background_questions(self) -> tuple[ChoiceQuestion, ...]:
        """The questions marked `background: true`, in survey order."""
        return tuple(q for q in self.questions if isinstance(q, ChoiceQuestion) and q.background)

    def status_of(self, answers: Mapping[str, StoredAnswer]) -> str:
        """"partial" if a required question is unanswered, else "complete"."""
        skipped_required = any(q.required and q.key not in answers for q in self.questions)
        return "partial" if skipped_required else "complete"

    def index_scale(self) -> Scale:
        """The scale of the index questions (all share one size; the parser checks it)."""
        first = self.question(self.index.questions[0])
        assert isinstance(first, ScaleQuestion) and first.scale is not None
        return first.scale

    def partly_scored(self, answers: Mapping[str, StoredAnswer]) -> bool:
        """Whether a respondent's personal score (`personal_score`) is from some, not all, of the index questions.

        The NKI beside its questions' figures gives a weighted sum of these
        respondents' answers (docs/analytics.md, "Partly scored"), so the
        results count them (`Response.partly_scored`) and suppress by them.
        """
        answered = sum(1 for key in self.index.questions if key in answers and answers[key].value is not None)
        return 0 < answered < len(self.index.questions)

    def personal_score(self, answers: Mapping[str, StoredAnswer]) -> float | None:
        """One respondent's personal index score from their answers (question key -> answer), or None.

        None when no index question has a value ("don't know" and skipped
        questions are left out: docs/surveys.md, "Index methods"); the NKI
        is the mean of these scores (analytics/aggregates.response_tallies). Units
        per `index.method`: "mean", the mean of the values, 1..points;
        "share_positive", 100 x the share of values >= the scale's
        `positive_from`, 0-100 (per cent); "scb100", Statistics Sweden's NKI,
        (weighted mean - 1) x 100 / (points - 1), 0-100, the weights (equal
        unless the survey gives them) taken over the questions answered.
        The mixing step stores it on each response (`Response.index_score`).
        """
        values = {key: answers[key].value for key in self.index.questions
                  if key in answers and answers[key].value is not None}
        if not values:
            return None
        scale = self.index_scale()
        if self.index.method == "mean":
            return sum(values.values()) / len(values)
        if self.index.method == "share_positive":
            return 100.0 * sum(1 for value in values.values() if value >= scale.positive_from) / len(values)
        weights = self.index.weights or {key: 1 / len(self.index.questions) for key in self.index.questions}
        total_weight = sum(weights.get(key, 0.0) for key in values)
        if not total_weight:
            return None
        mean = sum(value * weights.get(key, 0.0) for key, value in values.items()) / total_weight
        return (mean - 1) * 100.0 / (scale.points - 1)


def parse_definition(document: Mapping[str, Any]) -> SurveyDefinition:
    """Validate a loaded YAML document and build the definition from it."""
    return _Parser(document).parse()


class _Parser:
    def __init__(self, document: Mapping[str, Any]):
        if not isinstance(document, Mapping):
            raise DefinitionError("a survey file must be a mapping at the top level")
        self.doc = document
        self.languages: tuple[str, ...] = ()

    def parse(self) -> SurveyDefinition:
        """Build the SurveyDefinition from the document; raises DefinitionError saying where and why."""
        doc = self.doc
        key = self._required(doc, "key", "survey")
        if not isinstance(key, str) or not SURVEY_KEY_PATTERN.match(key):
            raise DefinitionError(f"survey key {key!r} must match {SURVEY_KEY_PATTERN.pattern}")
        version = self._required(doc, "version", key)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise DefinitionError(f"{key}: version must be a positive integer")
        self.languages = self._parse_languages(doc.get("languages"), key)
        title = self._texts(self._required(doc, "title", key), f"{key}.title")
        intro = self._texts(doc["intro"], f"{key}.intro") if doc.get("intro") else None
        scales = {
            name: self._parse_scale(name, raw)
            for name, raw in (doc.get("scales") or {}).items()
        }
        sections = tuple(
            self._parse_section(raw, scales, number)
            for number, raw in enumerate(self._required(doc, "sections", key), start=1)
        )
        by_key: dict[str, Question] = {}
        for section in sections:
            for question in section.questions:
                if question.key in by_key:
                    raise DefinitionError(f"question key {question.key!r} is used twice")
                by_key[question.key] = question
        if not by_key:
            raise DefinitionError(f"{key}: a survey needs at least one question")
        background = [q.key for q in by_key.values() if isinstance(q, ChoiceQuestion) and q.background]
        if len(background) > MAX_BACKGROUND_QUESTIONS:
            raise DefinitionError(
                f"{key}: at most {MAX_BACKGROUND_QUESTIONS} background questions ({', '.join(background)}): each one "
                "splits every anonymity cell and multiplies the groupings results must protect")
        index = self._parse_index(self._required(doc, "index", key), by_key)
        return SurveyDefinition(
            key=key,
            version=version,
            languages=self.languages,
            title=title,
            intro=intro,
            scales=scales,
            sections=sections,
            index=index,
            _by_key=by_key,
        )

    @staticmethod
    def _required(mapping: Mapping[str, Any], name: str, where: str) -> Any:
        if not isinstance(mapping, Mapping) or mapping.get(name) in (None, "", []):
            raise DefinitionError(f"{where}: '{name}' is missing")
        return mapping[name]

    @staticmethod
    def _parse_languages(raw: Any, where: str) -> tuple[str, ...]:
        if not isinstance(raw, list) or not raw:
            raise DefinitionError(f"{where}: 'languages' must list the language codes")
        unknown = [code for code in raw if code not in LANGUAGES]
        if unknown:
            raise DefinitionError(f"{where}: unknown language codes {unknown}")
        if len(set(raw)) != len(raw):
            raise DefinitionError(f"{where}: a language is listed twice")
        return tuple(raw)

    def _texts(self, raw: Any, where: str) -> Texts:
        if not isinstance(raw, Mapping):
            raise DefinitionError(f"{where}: expected texts per language")
        missing = [code for code in self.languages if not str(raw.get(code) or "").strip()]
        if missing:
            raise DefinitionError(f"{where}: no text for {', '.join(missing)}")
        extra = [code for code in raw if code not in self.languages]
        if extra:
            raise DefinitionError(f"{where}: text for unlisted languages {extra}")
        return {code: str(raw[code]).strip() for code in self.languages}

    def _parse_scale(self, name: str, raw: Any) -> Scale:
        where = f"scale {name}"
        points = self._required(raw, "points", where)
        if points not in (5, 10):
            raise DefinitionError(f"{where}: points must be 5 or 10")
        labels_raw = self._required(raw, "labels", where)
        if not isinstance(labels_raw, Mapping):
            raise DefinitionError(f"{where}: labels must map points to texts")
        labels = {}
        for point, texts in labels_raw.items():
            # YAML gives integer keys; the JSON stored in the database, strings.
            if isinstance(point, str) and point.isdigit():
                point = int(point)
            if not isinstance(point, int) or not 1 <= point <= points:
                raise DefinitionError(f"{where}: label for point {point!r} outside 1..{points}")
            labels[point] = self._texts(texts, f"{where}.labels.{point}")
        required_points = set(range(1, points + 1)) if points == 5 else {1, points}
        if not required_points <= set(labels):
            missing = sorted(required_points - set(labels))
            raise DefinitionError(f"{where}: points {missing} need a label")
        positive_from = self._required(raw, "positive_from", where)
        if not isinstance(positive_from, int) or not 1 < positive_from <= points:
            raise DefinitionError(f"{where}: positive_from must be within 2..{points}")
        return Scale(name=name, points=points, labels=labels, positive_from=positive_from)

    def _parse_section(self, raw: Any, scales: Mapping[str, Scale], number: int) -> Section:
        key = self._required(raw, "key", f"section {number}")
        if not KEY_PATTERN.match(str(key)):
            raise DefinitionError(f"section key {key!r} must match {KEY_PATTERN.pattern}")
        title = self._texts(raw["title"], f"section {key}.title") if raw.get("title") else None
        questions = tuple(
            self._parse_question(q, key, scales) for q in self._required(raw, "questions", key)
        )
        return Section(key=key, title=title, questions=questions)

    def _parse_question(self, raw: Any, section: str, scales: Mapping[str, Scale]) -> Question:
        key = str(self._required(raw, "key", f"section {section}"))
        if not KEY_PATTERN.match(key):
            raise DefinitionError(f"question key {key!r} must match {KEY_PATTERN.pattern}")
        kind = raw.get("type")
        if kind not in QUESTION_TYPES:
            raise DefinitionError(f"{key}: type must be one of {sorted(QUESTION_TYPES)}")
        if "background" in raw and kind != "choice":
            raise DefinitionError(f"{key}: only choice questions can be background questions")
        common = dict(
            key=key,
            type=kind,
            section=section,
            text=self._texts(self._required(raw, "text", key), f"{key}.text"),
            required=bool(raw.get("required", False)),
        )
        if kind == "scale":
            scale_name = self._required(raw, "scale", key)
            if scale_name not in scales:
                raise DefinitionError(f"{key}: unknown scale {scale_name!r}")
            return ScaleQuestion(
                **common, scale=scales[scale_name], dont_know=bool(raw.get("dont_know", True))
            )
        if kind == "choice":
            options = tuple(
                Option(key=str(o["key"]), text=self._texts(o.get("text"), f"{key}.{o['key']}"))
                for o in self._required(raw, "options", key)
            )
            if len({o.key for o in options}) != len(options):
                raise DefinitionError(f"{key}: option keys must be unique")
            malformed = [o.key for o in options if not KEY_PATTERN.match(o.key)]
            if malformed:
                raise DefinitionError(f"{key}: option keys {malformed} must match {KEY_PATTERN.pattern}")
            if any(o.key in (DONT_KNOW, "") for o in options):
                raise DefinitionError(f"{key}: option key {DONT_KNOW!r} is reserved")
            background = raw.get("background", False)
            if not isinstance(background, bool):
                raise DefinitionError(f"{key}: background must be true or false")
            return ChoiceQuestion(**common, options=options, background=background)
        return QUESTION_TYPES[kind](**common)

    def _parse_index(self, raw: Any, by_key: Mapping[str, Question]) -> IndexDefinition:
        method = self._required(raw, "method", "index")
        if method not in INDEX_METHODS:
            raise DefinitionError(f"index: method must be one of {INDEX_METHODS}")
        keys = tuple(self._required(raw, "questions", "index"))
        scales = set()
        for key in keys:
            question = by_key.get(key)
            if not isinstance(question, ScaleQuestion):
                raise DefinitionError(f"index: {key!r} is not a scale question of this survey")
            scales.add(question.scale.points)  # type: ignore[union-attr]
        if len(scales) != 1:
            raise DefinitionError("index: all index questions must use scales of one size")
        if method == "scb100" and scales != {10}:
            raise DefinitionError("index: scb100 needs 10-point scale questions")
        weights = raw.get("weights")
        if weights is not None:
            if method != "scb100":
                raise DefinitionError("index: weights are only for scb100")
            if set(weights) != set(keys):
                raise DefinitionError("index: weights must cover exactly the index questions")
            if abs(sum(weights.values()) - 1) > 1e-9:
                raise DefinitionError("index: weights must sum to 1")
        return IndexDefinition(method=method, questions=keys, weights=weights)
