"""Running servers and load: gunicorn processes, wrk, the benchmark databases.

Every process started here is started in its own process group and ended
by its id when the `with` block ends, also on errors and Ctrl-C.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
LUA_DIR = Path(__file__).resolve().parent / "lua"
WRK = "/usr/bin/wrk"
#: Fixed so that sessions minted in the benchmark process are valid in the servers.
SECRET_KEY = "kundrost-bench-secret-key-not-for-production-0123456789"
#: Sent by Chromium on a phone (and by the load generator, so compression is paid for).
ACCEPT_ENCODING = "gzip, deflate, br"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- gunicorn ------------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    host: str
    port: int
    process: subprocess.Popen
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def app_environment(database_url: str, **extra: str) -> dict[str, str]:
    """Environment for the Kundröst app under gunicorn, as `Config.from_env` reads it."""
    env = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "SECURE_COOKIES": "0",
        "RATELIMIT_LINK_OPEN": "1000000 per minute",
        "PUBLIC_URL": "http://127.0.0.1",
        # The mixer is not started beside the servers: what is measured is the
        # respondent's requests (make_app published the answer key they seal to).
        "EMBEDDED_MIXER": "0",
    }
    env.update(extra)
    return env


@contextmanager
def gunicorn(
    name: str,
    app_spec: str,
    env: dict[str, str],
    workdir: Path,
    *,
    config: str = "python:app.serving",
    workers: int = 2,
    ready_path: str = "/health",
):
    """Serve `app_spec` with gunicorn (sync workers) on a free loopback port."""
    port = free_port()
    log_path = workdir / f"gunicorn-{name}-{port}.log"
    full_env = dict(os.environ)
    full_env.update(env)
    full_env.update(BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY=str(workers), PYTHONUNBUFFERED="1")
    full_env["PYTHONPATH"] = str(ROOT) + os.pathsep + full_env.get("PYTHONPATH", "")
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", config, app_spec],
            cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
    server = Server(name, "127.0.0.1", port, process, log_path)
    try:
        _wait_until_ready(server, ready_path)
        yield server
    finally:
        stop_process_group(process)


def stop_process_group(process: subprocess.Popen, grace: float = 10.0) -> None:
    """End a process we started and its children (its own process group), by id."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=5)


def _wait_until_ready(server: Server, path: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn ({server.name}) exited:\n{server.log_tail()}")
        try:
            status, _, _ = http_request(server, "GET", path, timeout=2)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn ({server.name}) not ready after {timeout:.0f}s:\n{server.log_tail()}")


def http_request(server: Server, method: str, path: str, headers: dict | None = None,
                 body: bytes | None = None, timeout: float = 10.0):
    """One request with http.client: (status, headers as a dict of lists, body bytes)."""
    connection = http.client.HTTPConnection(server.host, server.port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
        found: dict[str, list[str]] = {}
        for key, value in response.getheaders():
            found.setdefault(key.lower(), []).append(value)
        return response.status, found, data
    finally:
        connection.close()


# --- wrk -----------------------------------------------------------------------------------


@dataclass
class WrkResult:
    label: str
    requests: int
    duration_s: float
    #: Bytes received, headers included.
    bytes: int
    #: Latency percentiles in milliseconds.
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    #: Count per HTTP status, as seen by the Lua `response()` hook.
    statuses: dict[int, int]
    #: Socket errors and timeouts (wrk's own error counters).
    socket_errors: dict[str, int]
    #: Script-specific counters (e.g. 303s to /thanks, reused sessions).
    counters: dict[str, int]
    raw_output: str

    @property
    def rate(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    def count(self, status: int) -> int:
        return self.statuses.get(status, 0)

    def describe(self) -> str:
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items()))
        errors = ", ".join(f"{k} {v}" for k, v in self.socket_errors.items() if v)
        return (f"{self.label}: {self.rate:,.0f}/s, p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms, "
                f"max {self.max_ms:.0f} ms; statuses {{{statuses}}}" + (f"; socket errors: {errors}" if errors else ""))


def wrk(label: str, url: str, script: str, script_args: list[str], *, duration: float, threads: int,
        connections: int, headers: dict[str, str] | None = None, timeout_s: int = 10,
        server: Server | None = None) -> WrkResult:
    """Run wrk with one of the Lua scripts in bench/lua/ and read its JSON summary."""
    command = [WRK, "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(duration))}s",
               "--timeout", f"{timeout_s}s", "-s", str(LUA_DIR / script)]
    for key, value in (headers or {}).items():
        command += ["-H", f"{key}: {value}"]
    command += [url, "--", *script_args]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=duration + 120)
    output = completed.stdout + completed.stderr
    line = next((l for l in completed.stdout.splitlines() if l.startswith("WRK_JSON ")), None)
    if completed.returncode != 0 or line is None:
        detail = ""
        if server is not None:
            state = "running" if server.process.poll() is None else f"exited with {server.process.returncode}"
            detail = f"\ngunicorn ({server.name}) {state}; its log ends:\n{server.log_tail()}"
        raise RuntimeError(f"wrk ({label}) failed ({completed.returncode}):\n{output[-3000:]}{detail}")
    data = json.loads(line[len("WRK_JSON "):])
    return WrkResult(
        label=label,
        requests=int(data["requests"]),
        duration_s=data["duration_us"] / 1e6,
        bytes=int(data["bytes"]),
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        statuses={int(k): int(v) for k, v in data["statuses"].items()},
        socket_errors={k: int(v) for k, v in data["errors"].items()},
        counters={k: int(v) for k, v in data.get("counters", {}).items()},
        raw_output=output,
    )


@dataclass
class Paired:
    """Load runs of a baseline and of the thing measured, taken in turns (A B B A ...)."""

    baseline: list[WrkResult]
    measured: list[WrkResult]

    @staticmethod
    def _rate(results: list[WrkResult]) -> float:
        return sum(r.requests for r in results) / sum(r.duration_s for r in results)

    @property
    def baseline_rate(self) -> float:
        return self._rate(self.baseline)

    @property
    def measured_rate(self) -> float:
        return self._rate(self.measured)

    @property
    def baseline_p99(self) -> float:
        """Mean of the rounds' 99th percentiles, in ms (wrk cannot pool histograms)."""
        return sum(r.p99_ms for r in self.baseline) / len(self.baseline)

    @property
    def measured_p99(self) -> float:
        return sum(r.p99_ms for r in self.measured) / len(self.measured)

    def rounds_note(self) -> str:
        return "; ".join(
            f"round {i + 1}: {m.rate:,.0f}/s vs {b.rate:,.0f}/s, p99 {m.p99_ms:.0f} vs {b.p99_ms:.0f} ms"
            for i, (b, m) in enumerate(zip(self.baseline, self.measured))
        )


def alternate(rounds: int, seconds: float, baseline, measured) -> Paired:
    """Run `baseline(label, seconds)` and `measured(label, seconds)` in turns: B M, M B, B M, ...

    The mirrored order cancels a load on the machine that grows or shrinks
    steadily during the run; `seconds` is the total per side.
    """
    each = max(1.0, seconds / rounds)
    paired = Paired([], [])
    for index in range(rounds):
        order = [("baseline", baseline, paired.baseline), ("measured", measured, paired.measured)]
        for name, function, results in (order if index % 2 == 0 else order[::-1]):
            results.append(function(f"{name} round {index + 1}", each))
    return paired


# --- databases -----------------------------------------------------------------------------


def sqlite_url(workdir: Path, name: str) -> str:
    return "sqlite:///" + str(workdir / f"{name}.sqlite3")


def reset_postgres(url: str) -> str:
    """Create the dedicated benchmark database if needed and empty it; return a SQLAlchemy URL.

    Refuses any database whose name does not start with "kundrost_bench": this
    drops everything in it.
    """
    sa_url = make_url(url.replace("postgresql://", "postgresql+psycopg://", 1)
                      if url.startswith("postgresql://") else url)
    name = sa_url.database or ""
    if not name.startswith("kundrost_bench"):
        raise RuntimeError(f"refusing to empty PostgreSQL database {name!r}: its name must start with kundrost_bench")
    try:
        engine = create_engine(sa_url)
        with engine.connect():
            pass
    except Exception:
        admin = create_engine(sa_url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        engine = create_engine(sa_url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return sa_url.render_as_string(hide_password=False)
