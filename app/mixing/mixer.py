"""The mixing step: where waiting answers become responses, a cell at a time.

Runs on the one host that holds the private answer keys, one mixer at a
time (installation.py), as `flask mixer run` (a loop) or `flask mixer once`
(a round, for a scheduler). A round:

1. checks this host holds the newest published key (else it stops and says
   so: new answers could not be opened here);
2. publishes a new answer key when the newest is older than the rotation
   period, and retires superseded keys: what waits under them is re-sealed
   to the newest key, their rows are deleted (the database refuses while a
   waiting answer still names one) and then their private key files erased;
3. opens what waits in each campaign and, for every cell with at least 2k
   waiting, writes all but k of them as responses - a random subset, in
   random order - and re-seals the k that stay;
4. finalises campaigns whose last day lies more than the grace period back,
   unless some of their waiting answers cannot be opened here.

Every change of waiting answers is one transaction that first deletes every
row it read, then inserts in an order drawn from `secrets`: the database's
log then says which waiting answers went into which cell's responses, never
which into which. On SQLite each cell is its own short transaction, so the
one writer is not held long. docs/anonymity.md says why every response's
anonymity set stays at k or more.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from sqlalchemy import delete, exc, func, insert, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from .. import crashpoints
from ..analytics import linked
from ..analytics.results import figure_questions
from ..analytics.summaries import add_to_summaries
from ..campaigns.models import Campaign, Invitation, campaign_programme, campaign_provider
from ..clock import month_of, today_in
from ..config import Config
from ..db import Database, writer_turn
from ..respond.models import CHANNELS, Answer, Response
from ..surveys.definition import SurveyDefinition
from ..surveys.models import SurveyVersion
from .cells import plan_finalisation, release_size, withheld_questions
from .installation import Installation, LeaseLost, MixerError, mixer_lock, take_over
from .intake import SUBMIT_LOCK_CLASS
from .keys import fingerprint
from .models import ANSWERED, LINK, AnswerKey, CellCount, FormNonce, WaitingAnswer
from .sealing import AnswerSheet, Cell, SealError, open_sealed, padded_size, seal

log = logging.getLogger("kundrost.mixer")


@dataclass(frozen=True)
class Opened:
    """A waiting answer the mixer has opened."""

    waiting_id: int
    sheet: AnswerSheet


@dataclass
class RoundReport:
    """What one round did, in counts only (this is what gets logged)."""

    released: int = 0
    cells_released: int = 0
    reencrypted: int = 0
    key_published: bool = False
    keys_retired: int = 0
    finalised: list[int] = field(default_factory=list)
    withheld: int = 0
    waiting: int = 0
    #: Waiting answers (by id) no private key on this host opens.
    unopened_ids: set[int] = field(default_factory=set)
    #: Waiting answers (by id) that open but could not be a response of
    #: their campaign (a provider, channel or answer it does not have).
    damaged_ids: set[int] = field(default_factory=set)
    #: Answers an operator chose to delete at finalisation (--discard-damaged).
    discarded: int = 0
    #: What needs an operator: each a sentence saying what and what to do.
    problems: list[str] = field(default_factory=list)
    #: Campaigns whose results' suppression plan was made and kept anew (analytics.linked.plan_to_store).
    plans_stored: int = 0

    @property
    def unopened(self) -> int:
        """How many waiting answers no key on this host opened."""
        return len(self.unopened_ids)

    @property
    def damaged(self) -> int:
        """How many waiting answers opened but do not fit their campaign."""
        return len(self.damaged_ids)

    def summary(self) -> str:
        """One line of counts for the log and the CLI, then any problems."""
        line = (
            f"released {self.released} answers in {self.cells_released} cells, "
            f"{self.waiting} wait; re-sealed {self.reencrypted}; "
            f"key published: {'yes' if self.key_published else 'no'}, keys retired: {self.keys_retired}; "
            f"finalised campaigns: {self.finalised or 'none'}; results plans kept: {self.plans_stored}"
            + (f"; {self.withheld} withheld (fewer than k in the whole campaign)" if self.withheld else "")
            + (f"; {self.discarded} discarded by the operator (could not be opened or stored)" if self.discarded else "")
            + (f"; {self.unopened} cannot be opened with the keys on this host" if self.unopened else "")
            + (f"; {self.damaged} opened but cannot be stored" if self.damaged else "")
        )
        return "\n".join([line, *(f"PROBLEM: {problem}" for problem in self.problems)])


def _utc(moment: datetime) -> datetime:
    # SQLite gives back naive datetimes; every time the mixer writes is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class Mixer:
    """The mixing step for one database (see the module docstring).

    `now` returns the current Unix time (tests move it); `choose` is the
    source of random subsets and orders (`secrets.SystemRandom()`). Call
    `start()` under `lock()` before anything else.
    """

    def __init__(self, database: Database, config: Config, *, now: Callable[[], float] = time.time,
                 choose: secrets.SystemRandom | None = None):
        self.database = database
        self.config = config
        self.k = config.min_cell_size
        self.now = now
        self.choose = choose or secrets.SystemRandom()
        self._private_keys: dict[int, object] = {}
        self.installation: Installation | None = None

    @property
    def folder(self):
        """The installation's KeyFolder, once `start()` has run (else None)."""
        return self.installation.folder if self.installation else None

    # -- the lock and start-up ------------------------------------------------

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the one-mixer lock for the block (installation.mixer_lock); raises MixerBusy.

        On leaving, the key folder's lock taken by `start()` is let go too.
        """
        with mixer_lock(self.database):
            try:
                yield
            finally:
                self.release()

    def release(self) -> None:
        """Let go of the key folder's lock (taken by `start()`); the mixer must be started again to write."""
        if self.installation is not None and self.installation.folder_lock >= 0:
            os.close(self.installation.folder_lock)
            self.installation.folder_lock = -1

    def start(self) -> None:
        """Take over the installation and erase key files nothing needs.

        A key file whose public key has no row was either never published
        (a crash between writing and publishing) or retired (a crash between
        deleting its row and erasing the file). The folder is this
        installation's alone (installation.py), so nothing else needs it.
        Raises MixerError (DatabaseMoved, an unusable key folder).
        """
        self.installation = take_over(self.database, self.config)
        with self.database.engine.connect() as connection:
            published = {fingerprint(bytes(k)) for k in connection.scalars(select(AnswerKey.public_key))}
        self.folder.erase_leftover_temporaries()
        for stale in self.folder.fingerprints() - published:
            self.folder.erase(stale)
        self._private_keys.clear()

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """A write transaction of this mixer: its writer turn, then the fence.

        On SQLite its commit is synced to disk (the app's connections run
        `synchronous=NORMAL`): a key file is erased only after the changes
        that freed it are on disk, so a power cut cannot bring back rows
        that need an erased key.
        """
        with self.database.engine.connect() as connection, writer_turn(connection):
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                connection.exec_driver_sql("PRAGMA synchronous=FULL")
            try:
                self.installation.fence(connection)
                yield connection
            finally:
                if sqlite:
                    connection.rollback()
                    connection.exec_driver_sql("PRAGMA synchronous=NORMAL")

    # -- a round ---------------------------------------------------------------

    def round(self) -> RoundReport:
        """One round: rotate, mix, finalise (see the module docstring)."""
        if self.installation is None:
            self.start()
        report = RoundReport()
        if not self._newest_key_is_here(report):
            return report
        report.key_published = self.rotate_if_due()
        self.retire_superseded(report)
        today = today_in(self.config.zone, self.now())
        with self.database.engine.connect() as connection:
            campaigns = connection.execute(select(Campaign.id, Campaign.ends_on, Campaign.finalised_on)).all()
        for campaign_id, ends_on, finalised_on in campaigns:
            if finalised_on is not None or today > ends_on + self.config.finalise_after:
                if self._finalisation_unfinished(campaign_id, finalised_on):
                    self.finalise(campaign_id, today, report)
            else:
                self.mix_campaign(campaign_id, report)
        with self.database.engine.connect() as connection:
            report.waiting = connection.scalar(select(func.count()).select_from(WaitingAnswer)) or 0
        self.store_plans([campaign_id for campaign_id, _ends_on, _finalised_on in campaigns], report)
        if report.unopened or report.damaged:
            report.problems.append(
                f"{report.unopened} waiting answers cannot be opened here (sealed to keys not in "
                f"{self.folder.folder}, or damaged) and {report.damaged} opened but cannot be stored: they wait, "
                "and their campaigns will not be finalised until an operator decides (docs/operations.md)")
        return report

    def run(self, stop: Callable[[], bool] = lambda: False) -> None:
        """Rounds every `mixer_interval` until `stop()` is true (or the process is stopped).

        A database that is not reachable or not migrated yet, and anything
        unexpected in a round, is logged and tried again at the next round:
        the mixer outlives them. It stops (raising) only when another mixer
        took over or the database turned out to be moved or copied.
        """
        started = False
        while not stop():
            try:
                if not started:
                    self.start()
                    started = True
                report = self.round()
                log.info("mixer round: %s", report.summary())
            except (LeaseLost, MixerError):
                raise
            except (exc.OperationalError, exc.ProgrammingError) as error:
                log.warning("mixer round failed, next try in %.0f s: %s", self.config.mixer_interval.total_seconds(),
                            str(error.orig).splitlines()[0] if error.orig else error.__class__.__name__)
            except Exception as error:  # noqa: BLE001 - a round must not take the mixer down
                log.exception("mixer round failed (%s); next try in %.0f s", error.__class__.__name__,
                              self.config.mixer_interval.total_seconds())
            deadline = time.monotonic() + self.config.mixer_interval.total_seconds()
            while not stop() and time.monotonic() < deadline:
                time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))

    def store_plans(self, campaign_ids: list[int], report: RoundReport) -> None:
        """Keep each campaign's linked suppression plan current (analytics.linked.plan_to_store), so that no
        results page waits for it after a mixing or a restart.

        Made outside any write transaction (seconds at 100,000 responses,
        while answers must still be taken), then written in a short one. A
        campaign whose plan cannot be made is reported and skipped: its
        pages then make the plan themselves, and mixing goes on.
        """
        for campaign_id in campaign_ids:
            try:
                definition = self._definition(campaign_id)
                with Session(self.database.engine) as session:
                    row = linked.plan_to_store(session, campaign_id, definition, self.k, figure_questions(definition))
                if row is None:
                    continue
                with self._transaction() as connection:
                    linked.store_plan(connection, row)
                    connection.commit()
                report.plans_stored += 1
            except (LeaseLost, MixerError):
                raise
            except Exception as error:  # noqa: BLE001 - a kept plan saves time only: mixing must go on
                report.problems.append(f"campaign {campaign_id}: its results' suppression plan could not be kept "
                                       f"({error.__class__.__name__}); its results pages make it themselves")

    # -- keys ------------------------------------------------------------------

    def _keys(self, connection: Connection) -> list[tuple[int, bytes, datetime]]:
        rows = connection.execute(select(AnswerKey.id, AnswerKey.public_key, AnswerKey.created_at).order_by(AnswerKey.id))
        return [(key_id, bytes(public), _utc(created)) for key_id, public, created in rows]

    def holds_newest_key(self) -> bool:
        """True when no key is published yet or this host holds the newest one's private key."""
        with self.database.engine.connect() as connection:
            keys = self._keys(connection)
        return not keys or self.folder.holds(keys[-1][1])

    def _newest_key_is_here(self, report: RoundReport) -> bool:
        if self.holds_newest_key():
            return True
        with self.database.engine.connect() as connection:
            keys = self._keys(connection)
        report.problems.append(
            f"the newest answer key ({keys[-1][0]}) is not in this host's key folder {self.folder.folder}: "
            "new answers are sealed to a key this host cannot open. Is MIXER_KEY_DIR the mixing host's folder? "
            "If the keys are lost for good, `flask --app app mixer rotate --force` publishes a key of this host's "
            "(what was sealed to the lost keys stays unreadable). Nothing was mixed."
        )
        return False

    def rotate_if_due(self) -> bool:
        """Publish a new key if there is none or the newest is older than the rotation period."""
        now = datetime.fromtimestamp(self.now(), timezone.utc)
        with self.database.engine.connect() as connection:
            keys = self._keys(connection)
        if keys and now - keys[-1][2] < self.config.key_rotation:
            return False
        self.publish_key()
        return True

    def publish_key(self) -> int:
        """Write a new private key durably, then publish its public key; return the key's id."""
        public_key = self.folder.create()
        crashpoints.reached("rotate.written", self.config.crash_at)
        with self._transaction() as connection:
            key_id = connection.execute(
                insert(AnswerKey.__table__).returning(AnswerKey.id),
                {"public_key": public_key, "created_at": datetime.fromtimestamp(self.now(), timezone.utc)},
            ).scalar_one()
            generation = self.installation.advance(connection)
            connection.commit()
        self.folder.write_generation(generation)
        crashpoints.reached("rotate.published", self.config.crash_at)
        return key_id

    def unopenable_waiting(self, campaign_id: int | None = None) -> int:
        """Waiting answers (of a campaign, or all) sealed to keys whose private key is not on this host.

        Reads key ids only, opens nothing: a quick check before acting.
        """
        query = select(WaitingAnswer.key_id, func.count()).group_by(WaitingAnswer.key_id)
        if campaign_id is not None:
            query = query.where(WaitingAnswer.campaign_id == campaign_id)
        with self.database.engine.connect() as connection:
            keys = {key_id: bytes(public) for key_id, public, _ in self._keys(connection)}
            counts = connection.execute(query).all()
        return sum(count for key_id, count in counts if not self.folder.holds(keys.get(key_id, b"")))

    def _private_key(self, connection: Connection, key_id: int, report: RoundReport):
        key = self._private_keys.get(key_id)
        if key is None:
            public = connection.scalar(select(AnswerKey.public_key).where(AnswerKey.id == key_id))
            if public is None:
                return None
            try:
                key = self.folder.load(bytes(public))
            except ValueError:
                problem = (f"the key file {self.folder.path_for(bytes(public))} is damaged (not a 32-byte X25519 "
                           "key): what is sealed to it cannot be opened")
                if problem not in report.problems:
                    report.problems.append(problem)
                return None
            if key is not None:
                self._private_keys[key_id] = key
        return key

    def retire_superseded(self, report: RoundReport) -> None:
        """Re-seal what waits under older keys to the newest, delete their rows, erase their files.

        Runs right after a new key is published: a submit sealed to an older
        key is refused and sealed again (intake.py), and one already past
        that check when the key was published is caught by the foreign key -
        the row delete fails and the next round tries again. Only ever
        re-seals to a key this host holds (`round` checked), and deletes a
        key row only when no waiting answer still names it.
        """
        with self.database.engine.connect() as connection:
            keys = self._keys(connection)
        if len(keys) < 2 or not self.folder.holds(keys[-1][1]):
            return
        newest_id, newest_public, _ = keys[-1]
        for key_id, public, _ in keys[:-1]:
            report.reencrypted += self._reencrypt_key(key_id, newest_id, newest_public, report)
            crashpoints.reached("rotate.reencrypted", self.config.crash_at)
            with self._transaction() as connection:
                try:
                    connection.execute(delete(AnswerKey.__table__).where(AnswerKey.id == key_id))
                    generation = self.installation.advance(connection)
                    connection.commit()
                except exc.IntegrityError:
                    connection.rollback()  # a waiting answer still names it: next round
                    continue
            self.folder.write_generation(generation)
            crashpoints.reached("rotate.retired", self.config.crash_at)
            self.folder.erase(fingerprint(public))
            self._private_keys.pop(key_id, None)
            report.keys_retired += 1

    def _reencrypt_key(self, key_id: int, newest_id: int, newest_public: bytes, report: RoundReport) -> int:
        """Re-seal every waiting answer under `key_id` that opens here, one campaign per transaction."""
        done = 0
        with self.database.engine.connect() as connection:
            campaign_ids = list(connection.scalars(
                select(WaitingAnswer.campaign_id).where(WaitingAnswer.key_id == key_id).distinct()
            ))
        for campaign_id in campaign_ids:
            opened = self.open_waiting(campaign_id, report, key_id=key_id)
            if opened:
                definition = self._definition(campaign_id)
                self._write(campaign_id, opened, [], Cell(None, None, None, None, None, ()), definition,
                            key=(newest_id, newest_public))
                done += len(opened)
        return done

    # -- opening and writing -------------------------------------------------

    def _definition(self, campaign_id: int) -> SurveyDefinition:
        with self.database.sessionmaker() as session:
            version = session.scalar(
                select(SurveyVersion).join(Campaign, Campaign.survey_version_id == SurveyVersion.id)
                .where(Campaign.id == campaign_id)
            )
            return version.definition

    def open_waiting(self, campaign_id: int, report: RoundReport, key_id: int | None = None) -> list[Opened]:
        """Every waiting answer of a campaign (or of one key in it) that opens with a key on this host.

        The ones that do not open are counted in `report.unopened_ids`.
        """
        query = select(WaitingAnswer.id, WaitingAnswer.key_id, WaitingAnswer.sealed).where(
            WaitingAnswer.campaign_id == campaign_id
        )
        if key_id is not None:
            query = query.where(WaitingAnswer.key_id == key_id)
        opened = []
        fits = self._fits_campaign(campaign_id)
        with self.database.engine.connect() as connection:
            for waiting_id, row_key_id, sealed in connection.execute(query).all():
                private_key = self._private_key(connection, row_key_id, report)
                if private_key is None:
                    report.unopened_ids.add(waiting_id)
                    continue
                try:
                    sheet = open_sealed(bytes(sealed), private_key, campaign_id)
                except SealError:
                    report.unopened_ids.add(waiting_id)
                    continue
                if fits(sheet):
                    opened.append(Opened(waiting_id, sheet))
                else:
                    report.damaged_ids.add(waiting_id)
        return opened

    def _fits_campaign(self, campaign_id: int) -> Callable[[AnswerSheet], bool]:
        """A check that a sheet could be a response of this campaign: its survey
        version, one of its providers and programmes, a channel, a language of
        the survey, a status, and answers each its question could have given."""
        with self.database.engine.connect() as connection:
            version_id = connection.scalar(select(Campaign.survey_version_id).where(Campaign.id == campaign_id))
            providers = set(connection.scalars(select(campaign_provider.c.provider_id)
                                               .where(campaign_provider.c.campaign_id == campaign_id)))
            programmes = set(connection.scalars(select(campaign_programme.c.programme_id)
                                                .where(campaign_programme.c.campaign_id == campaign_id)))
        definition = self._definition(campaign_id)
        by_key = {q.key: q for q in definition.questions}

        def fits(sheet: AnswerSheet) -> bool:
            """Whether a decoded sheet belongs to this campaign's survey version, scope and answers."""
            return (sheet.survey_version_id == version_id and sheet.provider_id in providers
                    and sheet.programme_id in programmes and sheet.channel in CHANNELS
                    and sheet.language in definition.languages and sheet.status in ("complete", "partial")
                    and all(key in by_key and by_key[key].fits(answer) for key, answer in sheet.answers.items()))

        return fits

    def _newest_key(self) -> tuple[int, bytes]:
        with self.database.engine.connect() as connection:
            key_id, public, _ = self._keys(connection)[-1]
        return key_id, public

    def _write(self, campaign_id: int, read: list[Opened], released: list[Opened], cell: Cell,
               definition: SurveyDefinition, key: tuple[int, bytes] | None = None) -> None:
        """One transaction: delete every row in `read`, insert `released` as responses
        stored in `cell`, and re-insert the rest re-sealed - inserts in random order."""
        released_ids = {item.waiting_id for item in released}
        staying = [item for item in read if item.waiting_id not in released_ids]
        key_id, public = key or self._newest_key()
        size = padded_size(definition)
        response_rows, answer_rows = _response_rows(campaign_id, cell, released, definition, self.choose)
        staying_rows = [
            {"campaign_id": campaign_id, "key_id": key_id, "sealed": seal(item.sheet, public, campaign_id, size)}
            for item in staying
        ]
        self.choose.shuffle(staying_rows)
        with self._transaction() as connection:
            deleted = connection.execute(
                delete(WaitingAnswer.__table__).where(
                    WaitingAnswer.campaign_id == campaign_id,
                    WaitingAnswer.id.in_(sorted(item.waiting_id for item in read)),
                )
            ).rowcount
            if deleted != len(read):
                connection.rollback()
                raise LeaseLost(f"expected to delete {len(read)} waiting answers, deleted {deleted}: "
                                "another mixer is at work")
            crashpoints.reached("mix.deleted", self.config.crash_at)
            if response_rows:
                connection.execute(insert(Response.__table__), response_rows)
            if answer_rows:
                connection.execute(insert(Answer.__table__), answer_rows)
            # The results pages' counts, in the transaction that stores what they count.
            add_to_summaries(connection, response_rows, answer_rows, definition)
            if staying_rows:
                connection.execute(insert(WaitingAnswer.__table__), staying_rows)
            crashpoints.reached("mix.inserted", self.config.crash_at)
            connection.commit()
        crashpoints.reached("mix.committed", self.config.crash_at)

    def _release(self, campaign_id: int, read: list[Opened], released: list[Opened], cell: Cell,
                 definition: SurveyDefinition, report: RoundReport) -> bool:
        """`_write`, but a cell the database refuses (a damaged answer) is reported and left waiting."""
        try:
            self._write(campaign_id, read, released, cell, definition)
        except (exc.IntegrityError, exc.DataError) as error:
            report.problems.append(
                f"campaign {campaign_id}: {len(read)} waiting answers of one cell could not be written as "
                f"responses ({error.orig.__class__.__name__}); they stay waiting")
            return False
        report.released += len(released)
        report.cells_released += 1
        return True

    # -- mixing ------------------------------------------------------------------

    def mix_campaign(self, campaign_id: int, report: RoundReport) -> None:
        """Release every cell of a running campaign with at least 2k waiting."""
        opened = self.open_waiting(campaign_id, report)
        if len(opened) < 2 * self.k:
            return
        definition = self._definition(campaign_id)
        cells: dict[Cell, list[Opened]] = {}
        for item in opened:
            cells.setdefault(item.sheet.cell(definition), []).append(item)
        for cell, members in cells.items():
            count = release_size(len(members), self.k)
            if count:
                self._release(campaign_id, members, self.choose.sample(members, count), cell, definition, report)

    # -- finalisation ------------------------------------------------------------

    def _finalisation_unfinished(self, campaign_id: int, finalised_on: date | None) -> bool:
        """Not begun, or begun and interrupted: answers still wait or per-person rows remain.

        The last step deletes every invitation and form nonce in the
        transaction that writes the counts, so while any remains, it has
        not run (every answer came with one of the two).
        """
        if finalised_on is None:
            return True
        with self.database.engine.connect() as connection:
            return any(
                connection.scalar(select(func.count()).select_from(table).where(table.c.campaign_id == campaign_id))
                for table in (WaitingAnswer.__table__, Invitation.__table__, FormNonce.__table__)
            )

    def close_for_finalisation(self, campaign_id: int, today: date) -> None:
        """Mark the campaign finalised, under the submit lock held alone: no submit is half-way."""
        with self._transaction() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:c, :id)"),
                                   {"c": SUBMIT_LOCK_CLASS, "id": campaign_id})
            connection.execute(
                update(Campaign.__table__)
                .where(Campaign.id == campaign_id, Campaign.finalised_on.is_(None))
                .values(finalised_on=today)
            )
            connection.commit()

    def finalise(self, campaign_id: int, today: date, report: RoundReport | None = None, *,
                 discard_damaged: bool = False) -> RoundReport:
        """Finalise a campaign: close it, mix everything that waits (coarsening small
        cells, docs/anonymity.md), then - in one transaction - fill `cell_count`
        and delete invitations, form nonces and what could not be stored.

        A missing key folder must not become deleted answers: while some of
        its waiting answers are sealed to keys this host does not hold, it is
        refused before anything changes; answers found damaged while mixing
        (they do not open, or opened do not fit the campaign) stop it after
        the campaign is closed to new answers and the rest is mixed, before
        anything is counted or deleted. Either way a problem says what to do;
        `discard_damaged` is an operator's decision that those answers are
        lost for good. Safe to run again after a crash at any point: each
        step is one transaction and the last runs only while no counts exist.
        """
        report = report or RoundReport()
        if not discard_damaged and self._refuse_damaged(campaign_id, self.unopenable_waiting(campaign_id), report):
            return report
        self.close_for_finalisation(campaign_id, today)
        crashpoints.reached("finalise.closed", self.config.crash_at)
        definition = self._definition(campaign_id)
        before = report.unopened_ids | report.damaged_ids
        opened = self.open_waiting(campaign_id, report)
        batches, withheld = plan_finalisation(opened, lambda item: item.sheet.cell(definition), self.k)
        all_written = True
        for cell, members in batches:
            all_written &= self._release(campaign_id, members, members, cell, definition, report)
        crashpoints.reached("finalise.mixed", self.config.crash_at)
        damaged = len((report.unopened_ids | report.damaged_ids) - before)
        if not all_written or (damaged and not discard_damaged and self._refuse_damaged(campaign_id, damaged, report)):
            return report  # closed, not finalised: the counts must not count answers still waiting
        deleted = self._count_and_forget(campaign_id)
        discarded = damaged if discard_damaged else 0
        report.discarded += discarded
        report.withheld += deleted - discarded
        report.finalised.append(campaign_id)
        return report

    def _refuse_damaged(self, campaign_id: int, count: int, report: RoundReport) -> bool:
        if not count:
            return False
        report.problems.append(
            f"campaign {campaign_id} is not finalised: {count} of its waiting answers cannot be opened with the keys "
            "on this host, or opened cannot be stored. Put the right key folder back (MIXER_KEY_DIR); if those "
            f"answers are lost for good, `flask --app app mixer finalise {campaign_id} --discard-damaged` deletes them.")
        return True

    def _count_and_forget(self, campaign_id: int) -> int:
        """Counts in, per-person rows out, in one transaction; returns the waiting answers deleted
        (withheld for k, or discarded as damaged), which the counts record as `withheld`."""
        with self._transaction() as connection:
            if connection.scalar(select(func.count()).select_from(CellCount).where(CellCount.campaign_id == campaign_id)):
                connection.rollback()
                return 0
            withheld = connection.execute(
                delete(WaitingAnswer.__table__).where(WaitingAnswer.campaign_id == campaign_id)
            ).rowcount
            rows = _link_counts(connection, campaign_id) + _answered_counts(connection, campaign_id, withheld)
            if rows:
                connection.execute(insert(CellCount.__table__), rows)
            connection.execute(delete(Invitation.__table__).where(Invitation.campaign_id == campaign_id))
            connection.execute(delete(FormNonce.__table__).where(FormNonce.campaign_id == campaign_id))
            connection.commit()
        return withheld


def _response_rows(campaign_id: int, cell: Cell, released: list[Opened], definition: SurveyDefinition,
                   choose: secrets.SystemRandom) -> tuple[list[dict], list[dict]]:
    """Response and answer rows for `released`, stored in `cell`, in random order."""
    left_out = withheld_questions(cell, definition)
    order = list(released)
    choose.shuffle(order)
    responses, answers = [], []
    for item in order:
        sheet = item.sheet
        response_id = uuid.UUID(int=choose.getrandbits(128), version=4).hex
        responses.append({
            "id": response_id, "survey_version_id": sheet.survey_version_id, "campaign_id": campaign_id,
            "provider_id": cell.provider_id, "programme_id": cell.programme_id, "language": cell.language,
            "channel": cell.channel, "month": cell.month, "status": sheet.status,
            "index_score": definition.personal_score(sheet.answers),
            "partly_scored": definition.partly_scored(sheet.answers),
        })
        answers += [
            {"response_id": response_id, "question_key": key, "value": a.value, "choice": a.choice,
             "text": a.text, "dont_know": a.dont_know}
            for key, a in sheet.answers.items() if key not in left_out
        ]
    return responses, answers


def _link_counts(connection: Connection, campaign_id: int) -> list[dict]:
    """Invitations issued and claimed per link cell and month of issue."""
    rows = connection.execute(
        select(Invitation.provider_id, Invitation.programme_id, Invitation.channel, Invitation.language,
               Invitation.created_on, func.count(), func.count().filter(Invitation.responded.is_(True)))
        .where(Invitation.campaign_id == campaign_id)
        .group_by(Invitation.provider_id, Invitation.programme_id, Invitation.channel, Invitation.language,
                  Invitation.created_on)
    ).all()
    by_month: dict[tuple, list[int]] = {}
    for provider_id, programme_id, channel, language, created_on, issued, answered in rows:
        totals = by_month.setdefault((provider_id, programme_id, channel, language, month_of(created_on)), [0, 0])
        totals[0] += issued
        totals[1] += answered
    return [
        {"campaign_id": campaign_id, "language_role": LINK, "provider_id": p, "programme_id": g, "channel": c,
         "language": lang, "month": month, "issued": issued, "answered": answered, "complete": 0,
         "partial": 0, "withheld": 0}
        for (p, g, c, lang, month), (issued, answered) in by_month.items()
    ]


def _answered_counts(connection: Connection, campaign_id: int, withheld: int) -> list[dict]:
    """Responses per stored cell and month, complete and partial; the withheld count on the all-NULL row."""
    rows = connection.execute(
        select(Response.provider_id, Response.programme_id, Response.channel, Response.language, Response.month,
               func.count().filter(Response.status == "complete"), func.count().filter(Response.status == "partial"))
        .where(Response.campaign_id == campaign_id)
        .group_by(Response.provider_id, Response.programme_id, Response.channel, Response.language, Response.month)
    ).all()
    counts = [
        {"campaign_id": campaign_id, "language_role": ANSWERED, "provider_id": p, "programme_id": g, "channel": c,
         "language": lang, "month": month, "issued": 0, "answered": complete + partial, "complete": complete,
         "partial": partial, "withheld": 0}
        for p, g, c, lang, month, complete, partial in rows
    ]
    if withheld:
        merged = next((row for row in counts if all(row[name] is None for name in
                                                      ("provider_id", "programme_id", "channel", "language", "month"))), None)
        if merged is None:
            merged = {"campaign_id": campaign_id, "language_role": ANSWERED, "provider_id": None, "programme_id": None,
                      "channel": None, "language": None, "month": None, "issued": 0, "answered": 0, "complete": 0,
                      "partial": 0, "withheld": 0}
            counts.append(merged)
        merged["withheld"] = withheld
    return counts
