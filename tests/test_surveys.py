"""Survey definitions: validation, the shipped templates, versioned loading."""

from __future__ import annotations

import copy

import pytest
import yaml
from sqlalchemy import func, select

from app.db import db_session
from app.i18n import LANGUAGES
from app.surveys.definition import DefinitionError, parse_definition
from app.surveys.models import SurveyVersion
from app.surveys.services import builtin_files, read_document, store_version

BUILTIN = {path.stem: path for path in builtin_files()}


def test_the_four_templates_ship():
    assert set(BUILTIN) == {"nacka-arbetsmarknad", "samhallsorientering", "skr-brukarundersokning", "nki-scb"}


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_templates_are_complete_in_all_ten_languages(name):
    definition = parse_definition(read_document(BUILTIN[name]))
    assert set(definition.languages) == set(LANGUAGES)
    for language in LANGUAGES:
        assert definition.title[language].strip()
        for question in definition.questions:
            assert question.text[language].strip()
            for _, label in question.choices(language):
                assert label.strip()


def test_template_index_methods():
    methods = {name: parse_definition(read_document(path)).index.method for name, path in BUILTIN.items()}
    assert methods == {
        "nacka-arbetsmarknad": "mean", "samhallsorientering": "mean",
        "skr-brukarundersokning": "share_positive", "nki-scb": "scb100",
    }
    skr = parse_definition(read_document(BUILTIN["skr-brukarundersokning"]))
    assert len(list(skr.questions)) == 8
    nki = parse_definition(read_document(BUILTIN["nki-scb"]))
    assert len(nki.index.questions) == 3 and nki.index_scale().points == 10


def minimal() -> dict:
    texts = {code: f"text {code}" for code in LANGUAGES}
    return {
        "key": "mini", "version": 1, "languages": list(LANGUAGES), "title": texts,
        "scales": {"s": {"points": 5, "positive_from": 4,
                         "labels": {p: {c: f"{p} {c}" for c in LANGUAGES} for p in range(1, 6)}}},
        "sections": [{"key": "main", "questions": [
            {"key": "q1", "type": "scale", "scale": "s", "required": True, "text": texts},
            {"key": "q2", "type": "yesno", "text": texts},
        ]}],
        "index": {"method": "mean", "questions": ["q1"]},
    }


def test_a_minimal_definition_parses():
    definition = parse_definition(minimal())
    assert [q.key for q in definition.questions] == ["q1", "q2"]
    assert definition.question("q1").required


BROKEN = [
    ("missing language", lambda d: d["title"].pop("ti"), "no text for ti"),
    ("empty text", lambda d: d["sections"][0]["questions"][0]["text"].update(ar="  "), "no text for ar"),
    ("unknown language", lambda d: d["languages"].append("xx"), "unknown language"),
    ("duplicate key", lambda d: d["sections"][0]["questions"].append(copy.deepcopy(d["sections"][0]["questions"][0])), "used twice"),
    ("unknown scale", lambda d: d["sections"][0]["questions"][0].update(scale="nope"), "unknown scale"),
    ("unlabelled point", lambda d: d["scales"]["s"]["labels"].pop(3), "need a label"),
    ("bad type", lambda d: d["sections"][0]["questions"][1].update(type="slider"), "type must be"),
    ("index on yes/no", lambda d: d["index"].update(questions=["q2"]), "not a scale question"),
    ("scb100 on 5 points", lambda d: d["index"].update(method="scb100"), "10-point"),
    ("bad method", lambda d: d["index"].update(method="median"), "method must be"),
    ("bad key", lambda d: d.update(key="Not OK"), "survey key"),
    ("version zero", lambda d: d.update(version=0), "positive integer"),
]


@pytest.mark.parametrize("name, breaks, message", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_definitions_are_refused_with_a_reason(name, breaks, message):
    document = minimal()
    breaks(document)
    with pytest.raises(DefinitionError, match=message):
        parse_definition(document)


def test_a_share_of_positive_answers_needs_one_threshold(app):
    """Checked when a survey is loaded (not when a stored version is read back)."""
    document = minimal()
    document["scales"]["t"] = {**document["scales"]["s"], "positive_from": 3}
    document["sections"][0]["questions"].append({"key": "q3", "type": "scale", "scale": "t", "text": document["title"]})
    document["index"] = {"method": "share_positive", "questions": ["q1", "q3"]}
    assert parse_definition(document).index.method == "share_positive"  # an old stored version still reads
    with app.app_context(), pytest.raises(DefinitionError, match="one positive_from"):
        store_version(db_session, document)


def test_scale_answers_are_checked_by_their_question_type():
    question = parse_definition(minimal()).question("q1")
    assert question.parse_answer("5").value == 5
    assert question.parse_answer("dk").dont_know
    assert question.parse_answer("") is None
    # Only what the page offers: "04" and an Arabic-Indic "٤" are not values it sends.
    for bad in ("0", "6", "five", "1.5", "-1", "04", "\u0664", "\u00b2", " 4"):
        with pytest.raises(ValueError):
            question.parse_answer(bad)


def test_check_command(runner, tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(minimal(), allow_unicode=True))
    bad_document = minimal()
    bad_document["title"].pop("so")
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(bad_document, allow_unicode=True))
    ok = runner.invoke(args=["surveys", "check", str(good), "--builtin"])
    assert ok.exit_code == 0, ok.output
    failed = runner.invoke(args=["surveys", "check", str(bad)])
    assert failed.exit_code == 1
    assert "no text for so" in failed.output


def test_loading_is_versioned_and_idempotent(app, runner, tmp_path):
    path = tmp_path / "mini.yaml"
    path.write_text(yaml.safe_dump(minimal(), allow_unicode=True))
    assert runner.invoke(args=["surveys", "load", str(path)]).exit_code == 0
    again = runner.invoke(args=["surveys", "load", str(path)])
    assert again.exit_code == 0 and "present" in again.output
    changed = minimal()
    changed["title"]["sv"] = "ändrad"
    path.write_text(yaml.safe_dump(changed, allow_unicode=True))
    refused = runner.invoke(args=["surveys", "load", str(path)])
    assert refused.exit_code != 0 and "raise 'version'" in refused.output
    changed["version"] = 2
    path.write_text(yaml.safe_dump(changed, allow_unicode=True))
    assert runner.invoke(args=["surveys", "load", str(path)]).exit_code == 0
    with app.app_context():
        versions = db_session.scalars(select(SurveyVersion).where(SurveyVersion.key == "mini")).all()
        assert sorted(v.version for v in versions) == [1, 2]
        assert {v.definition.title["sv"] for v in versions} == {"text sv", "ändrad"}


def test_builtin_load_stores_four_versions(app, runner):
    assert runner.invoke(args=["surveys", "load", "--builtin"]).exit_code == 0
    with app.app_context():
        assert db_session.scalar(select(func.count()).select_from(SurveyVersion)) == 4


def test_a_survey_marks_at_most_three_background_questions():
    # The second breaker's survey had nine: the answers export's protection grows with 2 to their number.
    from app.i18n import LANGUAGES
    from app.surveys.definition import DefinitionError, parse_definition

    texts = {code: "t" for code in LANGUAGES}

    def document(count: int) -> dict:
        questions = [{"key": "a", "type": "scale", "scale": "s", "text": texts}] + [
            {"key": f"bg{n}", "type": "choice", "background": True, "text": texts,
             "options": [{"key": "x", "text": texts}, {"key": "y", "text": texts}]} for n in range(count)]
        return {"key": "bg-test", "version": 1, "languages": list(LANGUAGES), "title": texts,
                "scales": {"s": {"points": 5, "positive_from": 4,
                                 "labels": {str(p): texts for p in range(1, 6)}}},
                "sections": [{"key": "main", "questions": questions}], "index": {"method": "mean", "questions": ["a"]}}

    assert len(parse_definition(document(3)).background_questions) == 3
    with pytest.raises(DefinitionError, match="at most 3 background questions"):
        parse_definition(document(4))
