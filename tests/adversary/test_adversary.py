"""The adversary test: a realistic campaign over HTTP, then an attack on what the database wrote.

An adversary here holds what the database server wrote during a campaign
- PostgreSQL: its write-ahead log (kept by a replication slot), its server
log with every statement (log_min_duration_statement = 0 for the day), its
heap pages with dead row versions (pageinspect, before any VACUUM), and a
base backup; SQLite: the database file and its -wal file - and what a
provider knows: which links it sent, when, and in which order, and roughly
when its customers answered.

From the log of row changes it computes each stored response's anonymity
set (model.py): the sources - claimed invitations, open-link form nonces,
bare submissions - it cannot tell apart. The test asserts

- every set has at least k = MIN_CELL_SIZE members;
- no pairing strategy on any channel finds more correct (response,
  invitation) pairs than guessing uniformly within those sets would, at a
  false-alarm chance of ALPHA = 1e-4 per strategy (attacks.py);
- no token, client address or user agent the customers' phones sent is
  anywhere in the database (tables, WAL, log);
- and, for the test's own soundness, that every stored response's answers
  spell which respondent sent it and that its set holds its true source.

Needs: root, PostgreSQL 15 on 127.0.0.1:5432 as `postgres` (trust), its
pg_waldump and pageinspect, Debian's libfaketime. In CI (CI=1) a missing
piece fails the test; elsewhere it skips with the reason.

Run: `.venv/bin/python -m pytest -m adversary tests/adversary -x` (about
two minutes per database on two cores).
"""

from __future__ import annotations

import os
import random
import re
import time
from pathlib import Path

import pytest

from app.config import Config

from . import attacks, driver, model, stolen_key

pytestmark = pytest.mark.adversary

IN_CI = bool(os.environ.get("CI"))
K = Config().min_cell_size
HERE = Path(__file__).resolve().parent
SQLITE_READER = HERE / "sqlite_wal.py"


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"adversary test cannot run here: {reason}")
    pytest.skip(reason)


def _split_between_ci_passes(database: str) -> None:
    """CI runs the suite twice (SQLite, then PostgreSQL): each database's adversary runs in its own pass."""
    if not IN_CI:
        return
    on_postgres = os.environ.get("TEST_DATABASE_URL", "").startswith("postgres")
    if (database == "postgresql") != on_postgres:
        pytest.skip(f"the {database} adversary runs in CI's {'PostgreSQL' if database == 'postgresql' else 'SQLite'} pass")


@pytest.mark.parametrize("database", ["postgresql", "sqlite"])
def test_no_stored_response_can_be_paired_with_its_invitation(database, tmp_path):
    _split_between_ci_passes(database)
    if driver.libfaketime() is None:
        _unavailable("libfaketime is not installed (apt-get install faketime; scripts/system-packages)")
    started = time.monotonic()
    if database == "postgresql":
        findings = _attack_postgresql(tmp_path)
    else:
        findings = _attack_sqlite(tmp_path)
    findings.timings["total"] = time.monotonic() - started
    failures = findings.failures()
    print(findings.report(failures))  # shown with `pytest -rP`, and on failure
    assert not failures, findings.report(failures)


# --------------------------------------------------------------------------- the findings


class Findings:
    def __init__(self, database: str, run: driver.CampaignRun):
        self.database = database
        self.run = run
        self.scores: list[attacks.Score] = []
        self.set_problems: list[str] = []
        self.summary: dict = {}
        self.reader_problems: list[str] = []
        self.truth_problems: list[str] = []
        self.leaks: list[str] = []
        self.timings: dict[str, float] = dict(run.timings)
        self.notes: list[str] = []
        self.set_sizes: list[int] = []
        #: The key folder taken on the day of the theft, tried on every ciphertext found (stolen_key.py).
        self.theft: stolen_key.Theft | None = None

    def failures(self) -> list[str]:
        failures = []
        if self.truth_problems:
            failures.append(f"{len(self.truth_problems)} stored responses do not match a respondent "
                            f"(the driver's ground truth): {self.truth_problems[:3]}")
        if self.reader_problems or self.set_problems:
            failures.append(f"the trace is unsound: {len(self.reader_problems)} reader problems, "
                            f"{len(self.set_problems)} sets missing their true source")
        below = self.summary.get("below k", 0)
        if below or not self.set_sizes:
            failures.append(f"{below} of {self.summary.get('in trace', 0)} responses have an anonymity set "
                            f"smaller than k = {K} (smallest {self.summary.get('min')}, "
                            f"median {self.summary.get('median')})")
        outright = [s for s in self.scores if s.guessed >= 20 and s.correct >= 0.9 * s.guessed]
        if outright:
            failures.append(f"{len(outright)} strategies pair nearly every response they guess: "
                            + "; ".join(f"{s.channel}/{s.strategy}: {s.correct} of {s.guessed}" for s in outright))
        beating = [s for s in self.scores if s.beats_chance and s not in outright]
        if beating:
            failures.append(f"{len(beating)} strategies beat chance: "
                            + "; ".join(f"{s.channel}/{s.strategy}: {s.correct} of {s.guessed} "
                                        f"(limit {s.limit})" for s in beating))
        if self.leaks:
            failures.append("the database holds what the phones sent: " + "; ".join(self.leaks))
        if self.run.mixer:
            theft = self.theft
            if theft is None:
                failures.append("no stolen key's publication is in the log read: the stolen-key attack had nothing to try")
            elif theft.opened_before:
                failures.append(f"keys stolen at the end opened {theft.opened_before} of {theft.before} sealed answers "
                                "written before the oldest of them was published")
            elif not theft.before or not theft.opened_after:
                # The control: the same search must find ciphertexts, and open those sealed to the stolen key.
                failures.append(f"the stolen-key attack is blind: {theft.before} ciphertexts before the oldest stolen key, "
                                f"{theft.opened_after} of {theft.after} after it opened")
        return failures

    def report(self, failures: list[str]) -> str:
        run = self.run
        sizes = self.set_sizes
        histogram = {}
        for size in sizes:
            bucket = str(size) if size < 10 else "10+"
            histogram[bucket] = histogram.get(bucket, 0) + 1
        lines = [
            "",
            f"ADVERSARY on {self.database}: {len(failures)} failure(s)",
            *[f"  - {f}" for f in failures],
            "",
            f"campaign: {len(run.invitations)} links in {len(set(r.cell for r in run.invitations))} cells over "
            f"{len(run.days)} days ({run.days[0]} .. {run.days[-1]}), {len(run.submissions)} sends stored, "
            f"mixer: {'yes: ' + str(len(run.mixer_runs)) + ' runs' if run.mixer else 'no (no `flask mixer`)'}",
            f"responses: {self.summary.get('responses')} stored, {self.summary.get('in trace')} in the trace; "
            f"trace sets: min {self.summary.get('trace min')}, median {self.summary.get('trace median')}; "
            f"responses it cannot be told from (same trace set, same columns; attacks.effective_sets): "
            f"min {self.summary.get('min')}, median {self.summary.get('median')}, "
            f"below k={K}: {self.summary.get('below k')}; sizes {dict(sorted(histogram.items(), key=lambda kv: (len(kv[0]), kv[0])))}",
            f"chance of pairing every invitation answer by uniform guessing: "
            f"{self.summary.get('chance (all invitation answers)', 0):.1f}",
            f"limit per strategy: correct pairs >= limit happens by chance with probability <= {attacks.ALPHA}",
            "",
            attacks.table(self.scores),
        ]
        for title, items in (("reader problems", self.reader_problems), ("sets missing their source", self.set_problems),
                             ("ground truth problems", self.truth_problems), ("leaks", self.leaks)):
            if items:
                lines += ["", f"{title} ({len(items)}):", *[f"  {item}" for item in items[:8]]]
        if self.theft is not None:
            lines += ["", f"stolen keys ({self.theft.keys} files taken after the campaign): opened "
                          f"{self.theft.opened_before} of {self.theft.before} sealed answers written before the oldest "
                          f"of them was published, {self.theft.opened_after} of {self.theft.after} written after it"]
        lines += ["", "notes: " + "; ".join(self.notes) if self.notes else "",
                  "timings: " + ", ".join(f"{k} {v:.0f} s" for k, v in self.timings.items())]
        return "\n".join(lines)


def _sealed_sizes() -> set[int]:
    """Lengths of a sealed answer of every shipped survey: what the adversary searches the WAL for."""
    from app.mixing.sealing import SEAL_OVERHEAD, padded_size
    from app.surveys.definition import parse_definition
    from app.surveys.services import builtin_files, read_document

    return {padded_size(parse_definition(read_document(path))) + SEAL_OVERHEAD for path in builtin_files()}


def _truth(findings: Findings, stored: list[driver.StoredResponse]) -> dict[str, tuple]:
    truth = {}
    for response in stored:
        source = findings.run.truth_of_number(response.number) if response.number is not None else None
        if source is None:
            findings.truth_problems.append(f"response {response.id}: answers spell {response.number}")
            continue
        truth[response.id] = source
    expected = len(findings.run.submissions)
    if len(stored) != expected:
        findings.truth_problems.append(f"{len(stored)} responses stored, {expected} sends were told they were stored")
    return truth


def _evaluate(findings: Findings, trace: model.Trace, truth: dict, guesses: list[attacks.Guesses],
              stored: list[driver.StoredResponse]) -> None:
    shown = {r.id: (r.provider_id, r.programme_id, r.channel, r.language, r.period) for r in stored}
    sizes = attacks.effective_sets(trace, shown)
    findings.set_problems, findings.summary = attacks.set_problems(trace, truth, sizes, K)
    findings.set_sizes = [sizes[r] for r in truth if r in sizes]
    findings.scores = [attacks.score(g, sizes, truth) for g in guesses]


def _order_guesses(channel: str, findings: Findings, trace: model.Trace, stored: list[driver.StoredResponse],
                   response_orders: dict[str, list], truth: dict) -> list[attacks.Guesses]:
    run = findings.run
    claimed = sorted(
        ((position, key) for (table, key), position in trace.source_position.items() if table == "invitation"),
        key=lambda item: (item[0], str(item[1])))
    used = {key for _, key in claimed} or {source for kind, source in truth.values() if kind == "invitation"}
    invitation_orders = {
        "send order": [i for i in run.send_order() if i in used],
        "claim order": [key for _, key in claimed],
    }
    response_scope = {r.id: (r.provider_id, r.programme_id, r.language) for r in stored}
    invitation_scope = {i: run.invitation_scope(i) for i in used if i in {r.invitation_id for r in run.invitations}}
    return attacks.rank_guesses(channel, response_orders, invitation_orders, response_scope, invitation_scope)


def _leaks(findings: Findings, blobs: dict[str, bytes]) -> None:
    tokens = set(findings.run.tokens)
    wanted = [driver.CANARY_AGENT.encode(), b"UA-7c3e91", driver.CANARY_ADDRESS.encode()]
    for where, blob in blobs.items():
        for canary in wanted:
            if canary in blob:
                findings.leaks.append(f"{canary.decode()!r} in {where}")
        found = set()
        for match in re.finditer(rb"[A-Za-z0-9]{22,}", blob):
            run_text = match.group().decode()
            for i in range(len(run_text) - 21):
                if run_text[i:i + 22] in tokens:
                    found.add(run_text[i:i + 22])
        if found:
            findings.leaks.append(f"{len(found)} link tokens in {where}")


# --------------------------------------------------------------------------- PostgreSQL


def _attack_postgresql(tmp_path: Path) -> Findings:
    from . import pg_cluster, pg_log, pg_pages, pg_wal

    cluster, missing = pg_cluster.what_is_missing()
    if missing:
        _unavailable("PostgreSQL adversary needs " + "; ".join(missing))
    assert cluster is not None
    oid = pg_cluster.recreate_database()
    url = pg_cluster.sqlalchemy_url()
    reader = pg_wal.WalReader(cluster, oid)
    state: dict = {}

    def setup_done():
        with pg_cluster.connect(pg_cluster.DATABASE) as connection:
            connection.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
        state["start"] = pg_cluster.create_slot()

    def before_traffic():
        pg_cluster.set_statement_logging(True)
        state["log_offset"] = pg_log.log_offset(cluster.log_file)

    try:
        run = driver.run_campaign(url, tmp_path, hooks=driver.Hooks(quiet=reader.anchor, before_traffic=before_traffic),
                                  setup_done=setup_done)
        pg_cluster.set_statement_logging(False)
        end = pg_cluster.flushed_end_lsn()
        findings = Findings("PostgreSQL", run)
        clock = time.monotonic()
        versions = pg_pages.read_versions()  # before anything else reads the tables
        wal = reader.read(state["start"], end)
        findings.timings["read WAL"] = time.monotonic() - clock
        findings.reader_problems = wal.problems
        stored = driver.stored_responses(url, run)
        truth = _truth(findings, stored)
        trace = model.anonymity_sets(wal.transactions)
        if run.mixer:
            stolen = stolen_key.steal(tmp_path / "mixer-keys")  # the key folder on the day of the theft
            with pg_cluster.connect(pg_cluster.DATABASE) as connection:
                published = stolen_key.postgresql_oldest_stolen_published(
                    connection, stolen_key.public_keys(stolen), wal.commit_lsn)
            if published is not None:
                candidates = stolen_key.postgresql_ciphertexts(cluster.pg_wal, state["start"], end, _sealed_sizes())
                findings.theft = stolen_key.try_keys(candidates, stolen, [run.campaign_id], published)
        findings.notes.append(f"{wal.records_read} WAL records of {len(wal.transactions)} committed transactions "
                              f"between {pg_cluster.int_to_lsn(state['start'])} and {pg_cluster.int_to_lsn(end)}")

        guesses = [attacks.trace_guesses("WAL", trace)]
        guesses += attacks.same_transaction_guesses(
            "WAL", wal.transactions, locks={str(xid): rows for xid, rows in wal.locks.items()})
        guesses.append(attacks.nearest_claim_guesses("WAL", trace, wal.transactions))
        guesses += _page_guesses(versions, {r.id for r in stored})

        entries = pg_log.read_entries(cluster.log_file, state["log_offset"])
        hashes = _token_hashes(run)
        reading = pg_log.read_references(entries, hashes, {r.id for r in stored}, pg_log.function_claim_arguments())
        findings.notes.append(f"{len(entries)} logged statements of {pg_cluster.DATABASE}")
        if not entries:
            findings.reader_problems.append("the server log shows no statement of the test's database")
        guesses += pg_log.log_guesses(entries, reading)

        live = [v for v in versions.get("response", ()) if v.ctid == (v.block, v.offset) and v.values.get("id") in truth]
        position_of = {t.ident: t.position for t in wal.transactions}
        orders = {
            "ctid": [v.values["id"] for v in sorted(live, key=lambda v: (v.block, v.offset))],
            "xmin": [v.values["id"] for v in sorted(live, key=lambda v: (v.xmin, v.block, v.offset))],
            "commit order": sorted((r for r in trace.response_transaction if r in truth),
                                   key=lambda r: position_of.get(trace.response_transaction[r], -1)),
        }
        guesses += _order_guesses("order", findings, trace, stored, orders, truth)
        _evaluate(findings, trace, truth, guesses, stored)

        clock = time.monotonic()
        _leaks(findings, {"the tables": _table_text(), "the WAL": _wal_bytes(cluster, state["start"], end),
                          "the server log": "\n".join(e.sql + repr(e.parameters) for e in entries).encode()})
        findings.timings["leak search"] = time.monotonic() - clock
        return findings
    finally:
        try:
            pg_cluster.drop_slot()
        finally:
            try:
                pg_cluster.set_statement_logging(False)
            except Exception:  # the database may be gone already
                pass
            if not os.environ.get("ADVERSARY_KEEP_DATABASE"):
                pg_cluster.drop_database()


def _token_hashes(run: driver.CampaignRun) -> dict[str, int]:
    """What a base backup of the invitation table gives: token hash -> invitation id."""
    from app.campaigns.tokens import token_hash

    return {token_hash(r.token): r.invitation_id for r in run.invitations}


def _page_guesses(versions: dict, response_ids: set[str]) -> list[attacks.Guesses]:
    """Dead and live invitation versions whose xmin or xmax is a response's xmin."""
    rng = random.Random(3)
    by_xid: dict[int, set] = {}
    flipped_by: dict[int, set] = {}
    for v in versions.get("invitation", ()):
        identity = v.values.get("id")
        for xid in (v.xmin, v.xmax):
            if xid:
                by_xid.setdefault(xid, set()).add(identity)
        if v.xmax and v.values.get("responded") is False:
            flipped_by.setdefault(v.xmax, set()).add(identity)
    stamped, flipped = {}, {}
    for v in versions.get("response", ()):
        identity = v.values.get("id")
        if identity not in response_ids or v.ctid != (v.block, v.offset):
            continue
        if v.xmin in by_xid:
            stamped[identity] = rng.choice(sorted(by_xid[v.xmin]))
        if v.xmin in flipped_by:
            flipped[identity] = rng.choice(sorted(flipped_by[v.xmin]))
    return [
        attacks.Guesses("pages", "an invitation version with xmin or xmax = its xmin", stamped),
        attacks.Guesses("pages", "the unused invitation version its transaction ended", flipped),
    ]


def _table_text() -> bytes:
    from . import pg_cluster

    chunks = []
    with pg_cluster.connect(pg_cluster.DATABASE) as connection:
        tables = [row[0] for row in connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        for table in tables:
            for (row,) in connection.execute(f'SELECT t::text FROM "{table}" t'):
                chunks.append(row)
    return "\n".join(chunks).encode()


def _wal_bytes(cluster, start: int, end: int) -> bytes:
    from . import pg_cluster

    with pg_cluster.connect() as connection:
        size = int(connection.execute(
            "SELECT setting::bigint * (CASE unit WHEN 'B' THEN 1 WHEN 'kB' THEN 1024 WHEN 'MB' THEN 1048576 "
            "ELSE 1 END) FROM pg_settings WHERE name = 'wal_segment_size'").fetchone()[0])
        timeline = connection.execute("SELECT timeline_id FROM pg_control_checkpoint()").fetchone()[0]
    per_id = 0x100000000 // size
    blobs = []
    for segment in range(start // size, end // size + 1):
        name = f"{timeline:08X}{segment // per_id:08X}{segment % per_id:08X}"
        path = cluster.pg_wal / name
        if not path.exists():
            candidates = sorted(cluster.pg_wal.glob(f"*{segment // per_id:08X}{segment % per_id:08X}"))
            if not candidates:
                continue
            path = candidates[-1]
        data = path.read_bytes()
        low = start - segment * size if segment == start // size else 0
        high = end - segment * size if segment == end // size else size
        blobs.append(data[max(low, 0):high])
    return b"".join(blobs)


# --------------------------------------------------------------------------- SQLite


def _attack_sqlite(tmp_path: Path) -> Findings:
    if not SQLITE_READER.exists():
        pytest.skip("tests/adversary/sqlite_wal.py (the SQLite -wal reader) is not written yet")
    db_path = tmp_path / "adversary.sqlite3"
    url = "sqlite:///" + str(db_path)
    run = driver.run_campaign(url, tmp_path)
    try:
        # ---- the SQLite reader plugs in here -------------------------------------------
        # read_transactions(db_path: str, wal_path: str | None) -> list[model.Transaction]
        from .sqlite_wal import read_transactions

        wal_path = str(db_path) + "-wal"
        clock = time.monotonic()
        transactions = read_transactions(str(db_path), wal_path if os.path.exists(wal_path) else None)
        # ------------------------------------------------------------------------------------
        findings = Findings("SQLite", run)
        findings.timings["read WAL"] = time.monotonic() - clock
        blobs = {"the database file": db_path.read_bytes()}
        if os.path.exists(wal_path):
            blobs["the -wal file"] = Path(wal_path).read_bytes()
        findings.notes.append(f"{len(transactions)} transactions read; -wal file "
                              f"{'present' if os.path.exists(wal_path) else 'absent'} at the end")
    finally:
        driver.close_keeper(run)
    stored = driver.stored_responses(url, run)
    truth = _truth(findings, stored)
    trace = model.anonymity_sets(transactions)
    if run.mixer:
        stolen = stolen_key.steal(tmp_path / "mixer-keys")  # the key folder on the day of the theft
        published = stolen_key.sqlite_oldest_stolen_published(transactions, stolen_key.public_keys(stolen))
        if published is not None:
            findings.theft = stolen_key.try_keys(stolen_key.sqlite_ciphertexts(transactions), stolen,
                                                 [run.campaign_id], published)
    guesses = [attacks.trace_guesses("WAL", trace)]
    guesses += attacks.same_transaction_guesses("WAL", transactions)
    guesses.append(attacks.nearest_claim_guesses("WAL", trace, transactions))
    position_of = {t.ident: t.position for t in transactions}
    orders = {
        "log order": sorted((r for r in trace.response_transaction if r in truth),
                            key=lambda r: position_of.get(trace.response_transaction[r], -1)),
        "stored order (B-tree)": [r.id for r in stored if r.id in truth],
    }
    guesses += _order_guesses("order", findings, trace, stored, orders, truth)
    _evaluate(findings, trace, truth, guesses, stored)
    _leaks(findings, blobs)
    return findings
