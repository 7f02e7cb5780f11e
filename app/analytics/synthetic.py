"""`flask analytics synthesize`: a synthetic data set of finalised campaigns, for benchmarks and demos of scale.

NOT the real path. Real answers are sealed at the submit, wait, and are
released by the mixer in groups of at least k (app/mixing/). This module
writes the end state of that path DIRECTLY - mixed `response` and `answer`
rows and the finalised campaigns' `cell_count` rows - without sealing,
waiting or mixing, because sealing and mixing 1,000,000 answers one by one
would take hours and measure the mixer, not the results pages.

What it keeps of the real path, so that the figures look like a real
municipality's:

- each campaign's answers are placed in cells by the finaliser's own rule
  (`mixing.cells.plan_finalisation` with k = MIN_CELL_SIZE): small cells
  are merged (provider, programme, language, channel or month NULL) and
  their background answers and free texts withheld
  (`mixing.cells.withheld_questions`), exactly as `Mixer.finalise` stores them;
- response ids are random 128-bit hex (a version-4 UUID's hex, as
  `mixer._response_rows` makes them), months are first days of months, the
  status comes from the survey's required questions (`status_of`) over
  every answer given, before any is withheld;
- each response's personal index score and the summary tables the results
  read (`summaries.add_to_summaries`) are written with each chunk, as the
  mixer writes them with each batch;
- the `answered` rows of `cell_count` are counted from the written
  responses by the finaliser's own query (`mixer._answered_counts`); the
  `link` rows (single-use links issued and claimed, per provider x
  programme x channel x link language x month of issue) are made up so
  that claimed = the sms and paper responses that came through a link and
  issued >= claimed, with a response rate of 15-60 % per provider.

The random source is `random.Random(seed)`, not `secrets`: the set must be
reproducible, and it is synthetic.
"""

from __future__ import annotations

import math
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import insert, select, update

from ..campaigns.models import Campaign, CampaignLanguage
from ..config import Config
from ..db import Database, writer_turn
from ..i18n import LANGUAGES
from ..mixing.cells import plan_finalisation, withheld_questions
from ..mixing.mixer import _answered_counts
from ..mixing.models import LINK, CellCount
from ..mixing.sealing import Cell
from ..organisation.models import Programme, Provider
from ..respond.models import Answer, Response
from ..surveys.definition import (
    ChoiceQuestion,
    ScaleQuestion,
    StoredAnswer,
    SurveyDefinition,
    TextQuestion,
    YesNoQuestion,
)
from ..surveys.models import SurveyVersion
from ..surveys.services import load_builtin
from ..text import match_key
from .summaries import add_to_summaries

#: The two surveys the campaigns alternate between: (survey key, first month, last month, name).
#: Nacka's labour-market survey every autumn, SKR's national user survey every spring, so
#: that each survey has several years of campaigns to show a trend.
SURVEYS = (
    ("nacka-arbetsmarknad", 9, 11, "Arbetsmarknad, hösten {year} (syntetisk)"),
    ("skr-brukarundersokning", 3, 5, "SKR brukarundersökning, våren {year} (syntetisk)"),
)
#: The programmes of the domain (as app/demo.py), then numbered ones beyond ten.
PROGRAMME_CODES = (
    ("SO", "Samhällsorientering"), ("JPG", "Jobbpeng grund"), ("JPF", "Jobbpeng förstärkt"),
    ("SAI", "Språk- och arbetsintroduktion"), ("AMI 1", "Arbetsmarknadsinsatser 1"),
    ("AMI 2", "Arbetsmarknadsinsatser 2"), ("ISA 1", "Introduktionsinsatser 1"),
    ("ISA 2", "Introduktionsinsatser 2"), ("FAI 1", "Förberedande arbetsinriktade insatser 1"),
    ("FAI 2", "Förberedande arbetsinriktade insatser 2"),
)
#: How customers of labour-market programmes spread over languages (as app/demo.py).
LANGUAGE_WEIGHTS = {"sv": 14, "ar": 22, "prs": 12, "fa": 8, "ps": 5, "ti": 12, "so": 12, "en": 5, "uk": 7, "ckb": 3}
#: How customers reach the survey; sms and paper come through single-use links (counted in `link` rows).
CHANNEL_WEIGHTS = {"sms": 50, "qr": 20, "paper": 20, "web": 10}
LINK_CHANNELS = ("sms", "paper")
#: Gender answers (None: left blank); the option keys of both surveys' background question.
GENDER_WEIGHTS = {"woman": 46, "man": 44, "other": 2, None: 8}
#: Providers (from the first) that get only 1-4 responses per campaign: below k, so suppression matters.
TINY_PROVIDERS = 3
#: Responses per INSERT chunk (their answers go in the same transaction).
CHUNK = 5000
#: Share of respondents who leave some questions blank, and how many they leave.
SKIPPER_SHARE, SKIP_RATE = 0.12, 0.25
#: Share of "don't know" on each scale question that offers it.
DONT_KNOW_RATE = 0.04
#: Share of respondents who write a comment (where the survey has a comment box).
COMMENT_RATE = 0.10
#: A few comments per language, as a customer might write them.
COMMENTS = {
    "sv": ("Bra coach, men jag vill ha mer praktik.", "Tack för hjälpen!", "Svårt att nå min handläggare."),
    "en": ("Good coach, but I would like more work practice.", "Thank you for the help."),
    "ar": ("المدرب جيد، لكني أريد تدريبًا عمليًا أكثر.", "شكرا على المساعدة."),
    "prs": ("تشکر از کمک شما.", "می‌خواهم کارآموزی بیشتر داشته باشم."),
    "fa": ("از کمک شما متشکرم.", "مربی خوب بود."),
    "ps": ("ستاسو د مرستې مننه.",),
    "ti": ("ስለ ሓገዝኩም የቐንየለይ።",),
    "so": ("Waad ku mahadsan tihiin caawimaadda.", "Macallinku wuu fiicnaa."),
    "uk": ("Дякую за допомогу.", "Хочу більше практики."),
    "ckb": ("سوپاس بۆ یارمەتییەکەتان.",),
}


@dataclass
class SynthesisReport:
    """What `synthesize` wrote: counts of rows (all ints) and the wall time in seconds."""

    responses: int = 0
    answers: int = 0
    cell_counts: int = 0
    #: Answers that the finaliser's rule withheld: whole campaigns below k (a count).
    withheld: int = 0
    #: Ids of the campaigns made, oldest first.
    campaign_ids: list[int] = field(default_factory=list)
    provider_ids: list[int] = field(default_factory=list)
    programme_ids: list[int] = field(default_factory=list)
    #: Responses that came through a single-use link (sms, paper): the sum of the `link` rows' claimed.
    link_responses: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class _Plan:
    """One campaign to make: its survey version, dates and number of responses."""

    version: SurveyVersion
    name: str
    starts_on: date
    ends_on: date
    responses: int
    year_index: int
    #: The day finalisation ran: the first day after the grace period.
    finalised_on: date


def synthesize(database: Database, config: Config, today: date, *, responses: int = 100_000,
               providers: int = 40, programmes: int = 10, campaigns: int = 8, seed: int | None = None,
               progress: Callable[[int], None] = lambda done: None) -> SynthesisReport:
    """Write `campaigns` finalised campaigns holding `responses` mixed responses in all, DIRECTLY (see the module docstring).

    `providers` synthetic providers (named "Syntetisk anordnare NN AB";
    reused if they exist) and the first `programmes` programmes of
    PROGRAMME_CODES (reused by code), all ten languages; the campaigns
    alternate between the surveys of SURVEYS, one a year each, ending
    before `today` (a municipal date) by more than the grace period
    `config.finalise_after`. `progress(n)` is called after every chunk
    with the responses written in it. Returns counts of what was written.
    Raises ValueError for counts below 1 or more programmes than PROGRAMME_CODES.
    """
    if min(responses, providers, programmes, campaigns) < 1 or programmes > len(PROGRAMME_CODES):
        raise ValueError(f"responses, providers, campaigns >= 1 and programmes 1..{len(PROGRAMME_CODES)}")
    started = time.perf_counter()
    rng = random.Random(seed)
    report = SynthesisReport()
    with database.sessionmaker() as session:
        versions = {version.key: version for version in load_builtin(session)}
        provider_rows = _providers(session, providers)
        programme_rows = _programmes(session, programmes)
        plans = _campaign_plans(versions, config, today, campaigns, responses)
        campaign_rows = []
        for plan in plans:
            campaign = Campaign(name=plan.name, survey_version_id=plan.version.id, starts_on=plan.starts_on,
                                ends_on=plan.ends_on, providers=provider_rows, programmes=programme_rows,
                                language_rows=[CampaignLanguage(language=code) for code in sorted(LANGUAGES)])
            session.add(campaign)
            campaign_rows.append(campaign)
        session.commit()
        report.provider_ids = [p.id for p in provider_rows]
        report.programme_ids = [p.id for p in programme_rows]
        report.campaign_ids = [c.id for c in campaign_rows]
    profiles = _provider_profiles(rng, report.provider_ids, report.programme_ids)
    for plan, campaign_id in zip(plans, report.campaign_ids):
        _write_campaign(database, config, rng, plan, campaign_id, profiles, report, progress)
    report.seconds = time.perf_counter() - started
    return report


def _providers(session, count: int) -> list[Provider]:
    """The synthetic providers, made or found by name."""
    rows = []
    for number in range(1, count + 1):
        name = f"Syntetisk anordnare {number:02d} AB"
        provider = session.scalar(select(Provider).where(Provider.name_key == match_key(name)))
        if provider is None:
            provider = Provider(name=name, active=True)
            session.add(provider)
        rows.append(provider)
    session.flush()
    return rows


def _programmes(session, count: int) -> list[Programme]:
    """The first `count` programmes of PROGRAMME_CODES, made or found by code."""
    rows = []
    for code, name in PROGRAMME_CODES[:count]:
        programme = session.scalar(select(Programme).where(Programme.code_key == match_key(code)))
        if programme is None:
            programme = Programme(code=code, name=name, active=True)
            session.add(programme)
        rows.append(programme)
    session.flush()
    return rows


def _campaign_plans(versions: dict[str, SurveyVersion], config: Config, today: date, campaigns: int,
                    responses: int) -> list[_Plan]:
    """Dates, names and sizes of the campaigns, oldest first; later years get a little more responses."""
    per_survey = [campaigns // len(SURVEYS) + (1 if i < campaigns % len(SURVEYS) else 0) for i in range(len(SURVEYS))]
    dated = []
    for (key, first, last, name), count in zip(SURVEYS, per_survey):
        year = today.year
        while _last_day(year, last) + config.finalise_after >= today:
            year -= 1
        for back in range(count):
            y = year - (count - 1 - back)
            dated.append((date(y, first, 1), _last_day(y, last), versions[key], name.format(year=y), back))
    dated.sort(key=lambda item: item[0])
    weights = [1 + 0.1 * year_index for *_, year_index in dated]
    sizes = _split(responses, weights)
    return [_Plan(version, name, starts, ends, size, year_index, ends + config.finalise_after + timedelta(days=1))
            for (starts, ends, version, name, year_index), size in zip(dated, sizes)]


def _last_day(year: int, month: int) -> date:
    return (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)


def _split(total: int, weights: list[float]) -> list[int]:
    """`total` split in proportion to `weights`, the remainder to the first parts (largest remainder aside: exact sum)."""
    shares = [total * w / sum(weights) for w in weights]
    parts = [math.floor(s) for s in shares]
    for index in sorted(range(len(parts)), key=lambda i: parts[i] - shares[i])[: total - sum(parts)]:
        parts[index] += 1
    return parts


@dataclass(frozen=True)
class _Profile:
    """A synthetic provider: relative size, mean satisfaction on 1-5, response rate of links (0-1),
    the programmes it delivers and the languages its customers speak (with weights)."""

    provider_id: int
    size: float
    satisfaction: float
    response_rate: float
    programmes: tuple[int, ...]
    tiny: bool
    languages: tuple[str, ...]
    language_weights: tuple[int, ...]


def _provider_profiles(rng: random.Random, provider_ids: list[int], programme_ids: list[int]) -> list[_Profile]:
    """Very different sizes (log-normal, a factor of about 50 between the 5th and 95th percentile), a few tiny ones.

    Each delivers 1-4 programmes, and its customers speak Swedish and 2-5
    other languages (providers serve language groups: civic orientation is
    given in the mother tongue), weighted as LANGUAGE_WEIGHTS.
    """
    profiles = []
    others = [code for code in LANGUAGE_WEIGHTS if code != "sv"]
    for index, provider_id in enumerate(provider_ids):
        offered = tuple(rng.sample(programme_ids, min(len(programme_ids), rng.randint(1, 4))))
        languages = ("sv", *sorted(set(rng.choices(others, [LANGUAGE_WEIGHTS[c] for c in others], k=rng.randint(2, 5)))))
        profiles.append(_Profile(provider_id, rng.lognormvariate(0, 1.2), rng.uniform(3.0, 4.6),
                                 rng.uniform(0.15, 0.6), offered,
                                 tiny=index < TINY_PROVIDERS and len(provider_ids) > TINY_PROVIDERS,
                                 languages=languages, language_weights=tuple(LANGUAGE_WEIGHTS[c] for c in languages)))
    return profiles


@dataclass(frozen=True)
class _Customer:
    """One synthetic customer's cell attributes (before any merging) and the link language they were invited in."""

    profile: _Profile
    programme_id: int
    language: str
    channel: str
    month: date
    gender: str | None
    link_language: str


def _customers(rng: random.Random, plan: _Plan, profiles: list[_Profile]) -> list[_Customer]:
    """The campaign's customers: tiny providers get 1-4 each, the rest share what is left by size."""
    tiny = [p for p in profiles if p.tiny]
    regular = [p for p in profiles if not p.tiny] or profiles
    owners = [p for p in tiny for _ in range(rng.randint(1, 4))][: plan.responses]
    # Sizes vary between campaigns too, by up to a fifth either way.
    weights = [p.size * rng.uniform(0.8, 1.2) for p in regular]
    owners += rng.choices(regular, weights, k=plan.responses - len(owners))
    months = _months(plan.starts_on, plan.ends_on)
    languages, language_weights = list(LANGUAGE_WEIGHTS), list(LANGUAGE_WEIGHTS.values())
    channels, channel_weights = list(CHANNEL_WEIGHTS), list(CHANNEL_WEIGHTS.values())
    genders, gender_weights = list(GENDER_WEIGHTS), list(GENDER_WEIGHTS.values())
    count = len(owners)
    drawn_channels = rng.choices(channels, channel_weights, k=count)
    drawn_genders = rng.choices(genders, gender_weights, k=count)
    customers = []
    for index, owner in enumerate(owners):
        language = rng.choices(owner.languages, owner.language_weights)[0]
        # One in twenty answers in another language than the link's.
        link_language = rng.choices(languages, language_weights)[0] if rng.random() < 0.05 else language
        customers.append(_Customer(owner, rng.choice(owner.programmes), language, drawn_channels[index],
                                   rng.choice(months), drawn_genders[index], link_language))
    return customers


def _months(first: date, last: date) -> list[date]:
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return months


def _cell(customer: _Customer, definition: SurveyDefinition) -> Cell:
    """The finest cell the customer's answers could be stored in (as `AnswerSheet.cell`)."""
    background = tuple((q.key, customer.gender) for q in definition.background_questions)
    return Cell(customer.profile.provider_id, customer.programme_id, customer.language, customer.channel,
                customer.month, background)


def answers_for(rng: random.Random, definition: SurveyDefinition, satisfaction: float, language: str,
                gender: str | None) -> dict[str, StoredAnswer]:
    """One customer's answers: scale values around `satisfaction` (on 1-5, rescaled to the scale's points),
    some "don't know", some skipped, a comment now and then, and `gender` (None: blank) for background questions.

    Every answer is one the question's `parse_answer` could have given (`fits`).
    """
    answers: dict[str, StoredAnswer] = {}
    skip = SKIP_RATE if rng.random() < SKIPPER_SHARE else 0.0
    for question in definition.questions:
        if isinstance(question, ChoiceQuestion) and question.background:
            if gender is not None and any(o.key == gender for o in question.options):
                answers[question.key] = StoredAnswer(choice=gender)
            continue
        if skip and rng.random() < skip:
            continue
        if isinstance(question, ScaleQuestion):
            if question.dont_know and rng.random() < DONT_KNOW_RATE:
                answers[question.key] = StoredAnswer(dont_know=True)
                continue
            points = question.scale.points
            centre = 1 + (satisfaction - 1) * (points - 1) / 4
            answers[question.key] = StoredAnswer(value=min(points, max(1, round(rng.gauss(centre, points / 5)))))
        elif isinstance(question, YesNoQuestion):
            answers[question.key] = StoredAnswer(value=int(rng.random() < 0.7))
        elif isinstance(question, ChoiceQuestion):
            answers[question.key] = StoredAnswer(choice=rng.choice(question.options).key)
        elif isinstance(question, TextQuestion) and rng.random() < COMMENT_RATE:
            answers[question.key] = StoredAnswer(text=rng.choice(COMMENTS[language]))
    return answers


def _write_campaign(database: Database, config: Config, rng: random.Random, plan: _Plan, campaign_id: int,
                    profiles: list[_Profile], report: SynthesisReport, progress: Callable[[int], None]) -> None:
    """Place the campaign's customers by the finaliser's rule, write their responses in chunks, then its counts."""
    definition = plan.version.definition
    customers = _customers(rng, plan, profiles)
    cells = [_cell(customer, definition) for customer in customers]
    batches, withheld = plan_finalisation(range(len(customers)), cells.__getitem__, config.min_cell_size)
    report.withheld += len(withheld)
    progress(len(withheld))
    links: dict[tuple, int] = {}
    trend = 0.05 * plan.year_index  # satisfaction rises a little every year: a trend to find
    responses: list[dict] = []
    answers: list[dict] = []
    for cell, members in batches:
        left_out = withheld_questions(cell, definition)
        members = list(members)
        rng.shuffle(members)  # the mixer writes a batch in random order
        for member in members:
            customer = customers[member]
            given = answers_for(rng, definition, min(5.0, customer.profile.satisfaction + trend),
                                customer.language, customer.gender)
            response_id = uuid.UUID(int=rng.getrandbits(128), version=4).hex
            responses.append({
                "id": response_id, "survey_version_id": plan.version.id, "campaign_id": campaign_id,
                "provider_id": cell.provider_id, "programme_id": cell.programme_id, "language": cell.language,
                "channel": cell.channel, "month": cell.month, "status": definition.status_of(given),
                "index_score": definition.personal_score(given),
                "partly_scored": definition.partly_scored(given),
            })
            answers += [
                {"response_id": response_id, "question_key": key, "value": a.value, "choice": a.choice,
                 "text": a.text, "dont_know": a.dont_know}
                for key, a in given.items() if key not in left_out
            ]
            if customer.channel in LINK_CHANNELS:
                # Issued in the month answered, or (a third) at the campaign's start.
                issued_in = plan.starts_on.replace(day=1) if rng.random() < 0.33 else customer.month
                key = (customer.profile.provider_id, customer.programme_id, customer.channel,
                       customer.link_language, issued_in)
                links[key] = links.get(key, 0) + 1
            if len(responses) >= CHUNK:
                _insert(database, definition, responses, answers, report, progress)
                responses, answers = [], []
    _insert(database, definition, responses, answers, report, progress)
    _insert_counts(database, rng, plan, campaign_id, profiles, links, len(withheld), report)


def _insert(database: Database, definition: SurveyDefinition, responses: list[dict], answers: list[dict],
            report: SynthesisReport, progress: Callable[[int], None]) -> None:
    """One transaction: a chunk of responses, their answers and what they add to the summary tables
    (summaries.add_to_summaries, as the mixer does); executemany, on SQLite in a writer turn."""
    if not responses:
        return
    with database.engine.connect() as connection, writer_turn(connection):
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Random ids land all over both tables' B-trees: a 2 MB page cache (the default)
            # rereads pages for every chunk. This connection's own cache only.
            connection.exec_driver_sql("PRAGMA cache_size=-262144")
        connection.execute(insert(Response.__table__), responses)
        if answers:
            connection.execute(insert(Answer.__table__), answers)
        add_to_summaries(connection, responses, answers, definition)
        connection.commit()
        if sqlite:
            # The app checkpoints every n-th check-in; a bulk load would grow the log to GBs.
            connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
    report.responses += len(responses)
    report.answers += len(answers)
    progress(len(responses))


def _insert_counts(database: Database, rng: random.Random, plan: _Plan, campaign_id: int, profiles: list[_Profile],
                   links: dict[tuple, int], withheld: int, report: SynthesisReport) -> None:
    """The finalised campaign's `cell_count` rows and its `finalised_on`, in one transaction.

    `answered` rows by the finaliser's own query over the written
    responses; `link` rows from `links` (claimed links per provider x
    programme x channel x link language x month of issue), each issued =
    claimed + the links never answered at the provider's response rate.
    """
    rate = {p.provider_id: p.response_rate for p in profiles}
    link_rows = []
    for (provider_id, programme_id, channel, language, month), claimed in links.items():
        unanswered = claimed * (1 - rate[provider_id]) / rate[provider_id]
        issued = claimed + int(unanswered) + (1 if rng.random() < unanswered % 1 else 0)
        link_rows.append({"campaign_id": campaign_id, "language_role": LINK, "provider_id": provider_id,
                          "programme_id": programme_id, "channel": channel, "language": language, "month": month,
                          "issued": issued, "answered": claimed, "complete": 0, "partial": 0, "withheld": 0})
    report.link_responses += sum(links.values())
    with database.engine.connect() as connection, writer_turn(connection):
        rows = link_rows + _answered_counts(connection, campaign_id, withheld)
        if rows:
            connection.execute(insert(CellCount.__table__), rows)
        connection.execute(update(Campaign.__table__).where(Campaign.id == campaign_id)
                           .values(finalised_on=plan.finalised_on))
        connection.commit()
    report.cell_counts += len(rows)
