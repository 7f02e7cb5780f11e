"""Pairing attacks on what a database wrote, and their scoring against the truth.

Every attack is a strategy that guesses, for some stored responses, the
invitation each came from. A guess is scored only for responses that did
come from an invitation (open-link answers have no invitation to find;
they count in the anonymity sets, not here). A channel that leaks nothing
beyond the anonymity sets lets no strategy beat guessing uniformly within
each response's set: `model.poisson_binomial_tail_limit` gives the number
of correct pairs that chance reaches with probability at most ALPHA.

Which channel produced a guess is recorded with it, so that a failure
reads like a table: channel, strategy, responses guessed, correct pairs,
the expected number by chance, the limit, and the set sizes behind them.
"""

from __future__ import annotations

import bisect
import random
import statistics
from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

from .model import (
    DELETE,
    INSERT,
    UPDATE,
    Roles,
    Trace,
    Transaction,
    poisson_binomial_tail_limit,
)

#: False alarm probability of one strategy's limit.
ALPHA = 1e-4
ROLES = Roles()

Truth = Mapping[str, tuple[str, Hashable | None]]  # response id -> ("invitation", id) | ("open", None)
Scope = tuple[Hashable | None, Hashable | None, Hashable | None]  # provider, programme, language


@dataclass
class Guesses:
    channel: str
    strategy: str
    #: response id -> guessed invitation id
    pairs: dict[Hashable, Hashable]


@dataclass
class Score:
    channel: str
    strategy: str
    guessed: int
    correct: int
    chance: float
    limit: int
    min_set: int | None
    median_set: float | None

    @property
    def beats_chance(self) -> bool:
        return self.guessed > 0 and self.correct >= self.limit


def invitation_sources(sources) -> list[Hashable]:
    return sorted((key for table, key in sources if table == ROLES.invitation_table), key=str)


def score(guesses: Guesses, sizes_of: Mapping[Hashable, int], truth: Truth) -> Score:
    """`sizes_of`: each response's anonymity set size (`effective_sets`)."""
    scored = {
        response: guess for response, guess in guesses.pairs.items()
        if truth.get(response, ("", None))[0] == "invitation"
    }
    sizes = [sizes_of.get(response, 0) for response in scored]
    probabilities = [1 / size if size else 1.0 for size in sizes]
    correct = sum(1 for response, guess in scored.items() if truth[response][1] == guess)
    return Score(
        channel=guesses.channel, strategy=guesses.strategy, guessed=len(scored), correct=correct,
        chance=sum(probabilities), limit=poisson_binomial_tail_limit(probabilities, ALPHA) if scored else 0,
        min_set=min(sizes) if sizes else None, median_set=statistics.median(sizes) if sizes else None,
    )


def table(scores: Sequence[Score]) -> str:
    header = f"{'channel':<14} {'strategy':<66} {'guessed':>7} {'correct':>7} {'chance':>7} {'limit':>5} " \
             f"{'min set':>7} {'median':>6}  verdict"
    lines = [header, "-" * len(header)]
    for s in scores:
        verdict = "BEATS CHANCE" if s.beats_chance else ("no guesses" if not s.guessed else "ok")
        lines.append(
            f"{s.channel:<14} {s.strategy[:66]:<66} {s.guessed:>7} {s.correct:>7} {s.chance:>7.1f} {s.limit:>5} "
            f"{'-' if s.min_set is None else s.min_set:>7} {'-' if s.median_set is None else s.median_set:>6}  {verdict}"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- the trace itself


def trace_guesses(channel: str, trace: Trace, seed: int = 1) -> Guesses:
    """Uniformly within each response's set: what chance alone achieves."""
    rng = random.Random(seed)
    pairs = {}
    for response, sources in trace.response_sets.items():
        candidates = invitation_sources(sources)
        if candidates:
            pairs[response] = rng.choice(candidates)
    return Guesses(channel, "uniform guess within the anonymity set", pairs)


def same_transaction_guesses(channel: str, transactions: Sequence[Transaction],
                             locks: Mapping[str, Sequence[tuple[str, Hashable]]] | None = None,
                             seed: int = 2) -> list[Guesses]:
    """The response's own transaction: the invitation it claimed; any invitation it wrote or locked."""
    rng = random.Random(seed)
    claimed, written = {}, {}
    updated_before: set[Hashable] = set()
    for transaction in sorted(transactions, key=lambda t: t.position):
        claims, touched = [], []
        for change in transaction.changes:
            if change.table == ROLES.invitation_table and change.kind in (UPDATE, DELETE):
                touched.append(change.key)
                if change.kind == UPDATE and change.key not in updated_before:
                    claims.append(change.key)
        for table, key in (locks or {}).get(transaction.ident, ()):
            if table == ROLES.invitation_table:
                touched.append(key)
        for change in transaction.changes:
            if change.kind == UPDATE and change.table == ROLES.invitation_table:
                updated_before.add(change.key)
        responses = [c.key for c in transaction.changes if c.table == ROLES.response_table and c.kind == INSERT]
        for response in responses:
            if claims:
                claimed[response] = rng.choice(sorted(set(claims), key=str))
            if touched:
                written[response] = rng.choice(sorted(set(touched), key=str))
    return [
        Guesses(channel, "same transaction: the invitation it claimed", claimed),
        Guesses(channel, "same transaction: any invitation written or locked", written),
    ]


def nearest_claim_guesses(channel: str, trace: Trace, transactions: Sequence[Transaction]) -> Guesses:
    """The last claim logged before (or with) the transaction that stored the response."""
    position_of = {t.ident: t.position for t in transactions}
    claims = sorted(
        (position, str(key), key) for (table, key), position in trace.source_position.items()
        if table == ROLES.invitation_table
    )
    claim_positions = [p for p, _, _ in claims]
    pairs = {}
    for response, ident in trace.response_transaction.items():
        position = position_of.get(ident)
        if position is None:
            continue
        index = bisect.bisect_right(claim_positions, position)
        if index:
            pairs[response] = claims[index - 1][2]
    return Guesses(channel, "the last claim logged before it was stored", pairs)


# --------------------------------------------------------------------------- order


def rank_guesses(channel: str, response_orders: Mapping[str, Sequence[Hashable]],
                 invitation_orders: Mapping[str, Sequence[Hashable]],
                 response_scope: Mapping[Hashable, Scope], invitation_scope: Mapping[Hashable, Scope]) -> list[Guesses]:
    """The i-th response in some order came from the i-th used invitation in another (or from the end)."""
    found = []
    for response_name, responses in response_orders.items():
        for invitation_name, invitations in invitation_orders.items():
            for reverse in (False, True):
                ranked = list(reversed(invitations)) if reverse else list(invitations)
                direction = " reversed" if reverse else ""
                found.append(Guesses(
                    channel, f"responses by {response_name} ~ invitations by {invitation_name}{direction}",
                    dict(zip(responses, ranked))))
                pairs = {}
                groups: dict[Scope, list[Hashable]] = defaultdict(list)
                for response in responses:
                    groups[response_scope.get(response, (None, None, None))].append(response)
                for scope, members in groups.items():
                    pool = [i for i in ranked if _matches(scope, invitation_scope.get(i))]
                    pairs.update(zip(members, pool))
                found.append(Guesses(
                    channel, f"in scope: {response_name} ~ {invitation_name}{direction}",
                    pairs))
    return found


def _matches(scope: Scope, invitation: Scope | None) -> bool:
    if invitation is None:
        return False
    return all(want is None or want == have for want, have in zip(scope, invitation))


# --------------------------------------------------------------------------- what a response shows


def effective_sets(trace: Trace, shown: Mapping[Hashable, tuple]) -> dict[Hashable, int]:
    """Each response's anonymity: how many stored responses it cannot be told from.

    A trace set says which sources a response may have come from; what the
    response shows (provider, programme, channel, language, week or month -
    any may be NULL, "merged") narrows it further, in ways an adversary can
    only bet on (a customer may switch language before sending). What holds
    whatever the adversary bets: responses that show the same and have the
    same trace set are interchangeable, so no strategy pins one of them to
    its source with a chance above 1 / (their number). That number is the
    size used for k and for the chance limits. It is never more than the
    trace set: each of those responses came from a different source in it.
    """
    classes: dict[tuple, int] = defaultdict(int)
    for response, sources in trace.response_sets.items():
        classes[(shown.get(response), sources)] += 1
    return {
        response: min(classes[(shown.get(response), sources)], len(sources))
        for response, sources in trace.response_sets.items()
    }


# --------------------------------------------------------------------------- checks on the trace


def set_problems(trace: Trace, truth: Truth, sizes_of: Mapping[Hashable, int], k: int) -> tuple[list[str], dict]:
    """Responses missing from the trace, or whose set lacks the true source; and summary figures."""
    problems = []
    for response, (kind, source) in truth.items():
        sources = trace.response_sets.get(response)
        if sources is None:
            problems.append(f"response {response}: the reader found no transaction storing it")
            continue
        if kind == "invitation" and (ROLES.invitation_table, source) not in sources:
            problems.append(f"response {response}: its invitation {source} is not in its set of {len(sources)} "
                            "(the reader or the model missed a carrier)")
        if kind == "open" and all(table == ROLES.invitation_table for table, _ in sources):
            problems.append(f"response {response} (open link): its set names only invitations")
    raw = [len(trace.response_sets[r]) for r in truth if r in trace.response_sets]
    sizes = [sizes_of[r] for r in truth if r in sizes_of]
    summary = {
        "responses": len(truth),
        "in trace": len(raw),
        "trace min": min(raw) if raw else None,
        "trace median": statistics.median(raw) if raw else None,
        "min": min(sizes) if sizes else None,
        "median": statistics.median(sizes) if sizes else None,
        "below k": sum(1 for size in sizes if size < k),
        "chance (all invitation answers)": sum(
            1 / sizes_of[r] for r, (kind, _) in truth.items() if kind == "invitation" and sizes_of.get(r)),
    }
    return problems, summary
