"""What the adversary reads from a database's own files, and what it can infer.

Every reader (PostgreSQL's WAL, SQLite's -wal frames and main file) reduces
what it finds to the same shape: transactions in log order, each a list of
row changes. From that, `anonymity_sets` computes for every stored response
the set of sources (claimed invitations, open-link form nonces, or bare
submissions) the adversary cannot rule out - by following, transaction by
transaction, which rows could carry a respondent's answers:

- A transaction that claims an invitation (its `responded` flag goes from
  false to true, or - where a reader cannot decode values - the first
  update of that invitation's row; or, where the reader lost the row's
  earlier state, the first time the row shows up, answered) or inserts a
  form nonce has those as its sources.
- A transaction that deletes (or updates) rows of a carrier table (rows
  that may hold answers in some form, e.g. sealed answers waiting to be
  mixed) inherits every source those rows carried.
- A transaction that writes carrier or sink rows, with no source and no
  carrier read, is a bare submission: its own source.
- Every carrier or sink row a transaction inserts carries the union of its
  sources. That union is exact when the transaction's own order says
  nothing more (all deletes before all inserts, inserts in random order);
  the pairing attacks in `attacks.py` check that it does not.

Deleting identity rows (invitations, nonces) carries nothing: it says who
was invited, not what anyone answered.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

INSERT, DELETE, UPDATE = "insert", "delete", "update"


@dataclass(frozen=True)
class RowChange:
    """One row version written or removed by a transaction."""

    table: str
    #: "insert" | "delete" | "update"
    kind: str
    #: The row's identity in its table: its primary key where the reader can
    #: decode it (an int id, a hex string), else a token the reader keeps
    #: stable along the row's lineage (e.g. its first ctid).
    key: Hashable
    #: Column values of the new version (insert, update), where decodable.
    values: Mapping[str, Any] | None = None
    #: Column values of the old version (update, delete), where decodable.
    old_values: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Transaction:
    #: PostgreSQL: the xid; SQLite: "<wal generation>:<first frame>".
    ident: str
    #: Position in the log: 0, 1, 2, ... in the order the log recorded them.
    position: int
    changes: tuple[RowChange, ...]


@dataclass(frozen=True)
class Roles:
    """Which tables play which part; names as in the schema under attack."""

    #: Rows that identify a person or a form: a claim or insert is a source.
    invitation_table: str = "invitation"
    nonce_table: str = "form_nonce"
    #: Rows that may hold answers before they are stored as responses.
    carrier_tables: frozenset[str] = frozenset({"waiting_answer"})
    #: Rows whose anonymity set is reported (response), and their parts (answer).
    response_table: str = "response"
    content_tables: frozenset[str] = frozenset({"answer"})


Source = tuple[str, Hashable]  # ("invitation", 17) | ("form_nonce", "ab..") | ("submission", "745")


@dataclass
class Trace:
    """The result: each response's sources, and each transaction's sources."""

    #: response key -> every source the adversary cannot rule out
    response_sets: dict[Hashable, frozenset[Source]] = field(default_factory=dict)
    #: response key -> the transaction that inserted it
    response_transaction: dict[Hashable, str] = field(default_factory=dict)
    #: transaction ident -> its own sources (claims, nonces, bare submission)
    own_sources: dict[str, frozenset[Source]] = field(default_factory=dict)
    #: source -> the transaction that produced it, in log position order
    source_position: dict[Source, int] = field(default_factory=dict)


def _is_claim(change: RowChange, updated_before: set[Hashable]) -> bool:
    if change.kind == INSERT:
        # The app inserts invitations unanswered. One that first shows up
        # answered is a claim whose earlier state the reader lost (SQLite:
        # a page whose older frames a later log generation overwrote reads
        # as an insert, sqlite_wal.py "Limits"): its transaction is the claim.
        new = change.values
        return new is not None and bool(new.get("responded")) and change.key not in updated_before
    if change.kind != UPDATE:
        return False
    new, old = change.values, change.old_values
    if new is not None and "responded" in new:
        if old is not None and "responded" in old:
            return bool(new["responded"]) and not bool(old["responded"])
        return bool(new["responded"]) and change.key not in updated_before
    return change.key not in updated_before


def anonymity_sets(transactions: Iterable[Transaction], roles: Roles = Roles()) -> Trace:
    """Follow sources through carrier rows to every response (see the module docstring)."""
    trace = Trace()
    carried: dict[tuple[str, Hashable], frozenset[Source]] = {}
    invitations_updated: set[Hashable] = set()
    written_tables = roles.carrier_tables | {roles.response_table} | roles.content_tables
    for transaction in sorted(transactions, key=lambda t: t.position):
        own: set[Source] = set()
        inherited: set[Source] = set()
        reads_carrier = False
        writes_answers = False
        for change in transaction.changes:
            if change.table == roles.invitation_table:
                if _is_claim(change, invitations_updated):
                    own.add((roles.invitation_table, change.key))
                if change.kind == UPDATE or _is_claim(change, invitations_updated):
                    invitations_updated.add(change.key)
            elif change.table == roles.nonce_table and change.kind == INSERT:
                own.add((roles.nonce_table, change.key))
            elif change.table in roles.carrier_tables and change.kind in (DELETE, UPDATE):
                reads_carrier = True
                inherited |= carried.get((change.table, change.key), frozenset())
            if change.table in written_tables and change.kind in (INSERT, UPDATE):
                writes_answers = True
        if writes_answers and not own and not reads_carrier:
            own.add(("submission", transaction.ident))
        trace.own_sources[transaction.ident] = frozenset(own)
        for source in own:
            trace.source_position.setdefault(source, transaction.position)
        sources = frozenset(own | inherited)
        for change in transaction.changes:
            if change.kind not in (INSERT, UPDATE):
                continue
            if change.table in roles.carrier_tables:
                carried[(change.table, change.key)] = sources
            elif change.table == roles.response_table:
                trace.response_sets[change.key] = sources
                trace.response_transaction[change.key] = transaction.ident
    return trace


def poisson_binomial_tail_limit(probabilities: Iterable[float], alpha: float = 1e-4) -> int:
    """The smallest c with P(X >= c) <= alpha, X the number of successes of
    independent trials with these success probabilities (exact, by dynamic
    programming over the distribution of X).

    An adversary who guesses each response's source uniformly within its
    anonymity set is right with probability 1/|set| per response; a channel
    that leaks nothing beyond the sets lets no strategy do better, so more
    correct pairs than this limit means the channel leaks (false alarm
    chance at most alpha).
    """
    distribution = [1.0]
    for p in probabilities:
        p = min(max(p, 0.0), 1.0)
        nxt = [0.0] * (len(distribution) + 1)
        for successes, mass in enumerate(distribution):
            nxt[successes] += mass * (1 - p)
            nxt[successes + 1] += mass * p
        distribution = nxt
    tail = 0.0
    for successes in range(len(distribution) - 1, -1, -1):
        tail += distribution[successes]
        if tail > alpha:
            return successes + 1
    return 0


def chance_of_pairs(sets: Mapping[Hashable, frozenset[Source]]) -> float:
    """Expected correct pairs of the best uniform guess: the sum of 1/|set|."""
    return math.fsum(1 / len(s) for s in sets.values() if s)
