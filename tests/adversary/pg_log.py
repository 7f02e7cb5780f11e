"""The server log, with every statement of the test's database and its parameters.

`log_min_duration_statement = 0` (set on the test's database only, reset
afterwards) makes PostgreSQL log each statement as it finishes, with the
values bound to it:

    2026-11-30 06:12:01.919 UTC [18556] postgres@kundrost_adversary LOG:  duration: 0.412 ms  execute <unnamed>: SELECT f($1, $2)
    2026-11-30 06:12:01.919 UTC [18556] postgres@kundrost_adversary DETAIL:  Parameters: $1 = '17', $2 = 'ab..'

(log_line_prefix '%m [%p] %q%u@%d '). An administrator who turns this on
for a day - to find a slow query - hands an adversary every statement in
arrival order, with its backend's pid and a millisecond time stamp.

An entry names an invitation when it carries one of the invitations' token
hashes, or an invitation id where a claim puts one: `id = $n` in an
`UPDATE invitation`, or an argument whose name says so (claimed_id,
invitation_id, ...) of a database function it calls (argument names from
pg_proc, which an adversary reads as easily). It names a response when it
carries a stored response's id anywhere.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from . import pg_cluster
from .attacks import Guesses

HEADER = re.compile(
    r"^(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) \S+ \[(?P<pid>\d+)\] "
    r"(?:(?P<user>[^@\s]*)@(?P<db>\S*) )?(?P<severity>[A-Z]+):  (?P<message>.*)$"
)
DURATION = re.compile(r"^duration: [\d.]+ ms  (?:(?P<step>parse|bind|execute) [^:]*|statement): (?P<sql>.*)$", re.S)
PARAMETER = re.compile(r"\$(\d+) = (NULL|'((?:[^']|'')*)')")
HEX32 = re.compile(r"\b[0-9a-f]{32}\b")
HEX64 = re.compile(r"\b[0-9a-f]{64}\b")
CALL = re.compile(r"\b([a-z_][a-z0-9_]*)\s*\(\s*\$1\b", re.I)
CLAIM_ID = re.compile(r"\b(?:invitation\.)?id\s*=\s*\$(\d+)")
CLAIM_ARGUMENT = re.compile(r"claim|invitation", re.I)


@dataclass
class Entry:
    time: datetime
    pid: int
    sql: str
    parameters: dict[int, str | None] = field(default_factory=dict)
    line: int = 0


def log_offset(path: Path) -> int:
    return path.stat().st_size


def read_entries(path: Path, offset: int, database: str = pg_cluster.DATABASE) -> list[Entry]:
    """Executed statements of `database`, from byte `offset` of the log on."""
    with open(path, "rb") as log:
        log.seek(offset)
        text = log.read().decode("utf-8", "replace")
    entries: list[Entry] = []
    current: dict | None = None
    last_by_pid: dict[int, Entry] = {}

    def close():
        nonlocal current
        if current is None:
            return
        match = DURATION.match(current["message"])
        if match and match["step"] in (None, "execute"):
            entry = Entry(current["time"], current["pid"], match["sql"], line=current["line"])
            entries.append(entry)
            last_by_pid[entry.pid] = entry
        else:
            # parse and bind steps are logged too (bind with the same parameters): not kept.
            last_by_pid.pop(current["pid"], None)
        current = None

    for number, line in enumerate(text.split("\n")):
        header = HEADER.match(line)
        if header is None:
            if current is not None:
                current["message"] += "\n" + line.lstrip("\t")
            continue
        if header["db"] != database:
            close()
            continue
        pid = int(header["pid"])
        if header["severity"] == "DETAIL" and header["message"].lower().startswith("parameters: "):
            close()
            entry = last_by_pid.get(pid)
            if entry is not None and not entry.parameters:
                entry.parameters = {
                    int(m[1]): (None if m[2] == "NULL" else m[3].replace("''", "'"))
                    for m in PARAMETER.finditer(header["message"])
                }
            continue
        close()
        if header["severity"] == "LOG":
            current = {"time": datetime.fromisoformat(header["time"]), "pid": pid,
                       "message": header["message"], "line": number}
    close()
    return entries


def function_claim_arguments() -> dict[str, list[int]]:
    """Database functions -> 1-based positions of arguments that name an invitation."""
    found = {}
    with pg_cluster.connect(pg_cluster.DATABASE) as connection:
        for name, arguments in connection.execute(
            "SELECT proname, proargnames FROM pg_proc WHERE pronamespace = 'public'::regnamespace"
        ):
            positions = [i + 1 for i, argument in enumerate(arguments or []) if CLAIM_ARGUMENT.search(argument or "")]
            if positions:
                found[name.lower()] = positions
    return found


@dataclass
class Reading:
    """What each entry says: which invitations, which responses."""

    invitations: list[set[Hashable]]
    claims: list[set[Hashable]]
    responses: list[set[str]]


def read_references(entries: list[Entry], hash_to_invitation: Mapping[str, Hashable], response_ids: set[str],
                    claim_arguments: Mapping[str, list[int]]) -> Reading:
    invitations, claims, responses = [], [], []
    for entry in entries:
        values = [v for v in entry.parameters.values() if v is not None]
        blob = entry.sql + "\n" + "\n".join(values)
        named = {hash_to_invitation[h] for h in HEX64.findall(blob) if h in hash_to_invitation}
        claimed: set[Hashable] = set()
        sql = entry.sql
        if re.search(r"\bUPDATE\s+invitation\b", sql, re.I):
            for number in CLAIM_ID.findall(sql):
                value = entry.parameters.get(int(number))
                if value is not None and value.lstrip("-").isdigit():
                    claimed.add(int(value))
        for call in CALL.finditer(sql):
            for position in claim_arguments.get(call.group(1).lower(), ()):
                value = entry.parameters.get(position)
                if value is not None and value.lstrip("-").isdigit():
                    claimed.add(int(value))
        invitations.append(named | claimed)
        claims.append(claimed)
        responses.append({h for h in HEX32.findall(blob) if h in response_ids})
    return Reading(invitations, claims, responses)


def log_guesses(entries: list[Entry], reading: Reading) -> list[Guesses]:
    """Three ways to pair from the log; each guesses one invitation per response it can."""
    channel = "server log"
    both = {}
    for invitations, responses in zip(reading.invitations, reading.responses):
        if len(invitations) == 1:
            for response in responses:
                both.setdefault(response, next(iter(invitations)))
    # The next response-bearing entry of the same backend after a claim.
    following = {}
    pending: dict[int, Hashable] = {}
    for entry, claims, responses in zip(entries, reading.claims, reading.responses):
        if len(claims) == 1:
            pending[entry.pid] = next(iter(claims))
        if responses and entry.pid in pending:
            claim = pending.pop(entry.pid)
            for response in responses:
                following.setdefault(response, claim)
    # Nearest in time: each response's first entry, the claim closest to it.
    claim_times = sorted((entry.time, i) for i, (entry, claims) in enumerate(zip(entries, reading.claims))
                         if len(claims) == 1)
    times = [t for t, _ in claim_times]
    nearest = {}
    seen: set[str] = set()
    for entry, responses in zip(entries, reading.responses):
        for response in responses - seen:
            seen.add(response)
            if not times:
                continue
            index = bisect_left(times, entry.time)
            candidates = [c for c in (index - 1, index) if 0 <= c < len(times)]
            best = min(candidates, key=lambda c: abs((times[c] - entry.time).total_seconds()))
            nearest[response] = next(iter(reading.claims[claim_times[best][1]]))
    return [
        Guesses(channel, "one entry names an invitation and a response", both),
        Guesses(channel, "same backend: next response after a claim", following),
        Guesses(channel, "nearest claim in time", nearest),
    ]
