"""Kundröst behind the nginx that docs/operations.md prescribes (issue 8, kind 6).

A real nginx (Debian's package, started by the test as a plain process,
not as root, on a loopback port with its own prefix in a temporary folder)
in front of a real gunicorn with TRUSTED_PROXY_COUNT=1. nginx's
configuration - upstream, TLS server, access log - is read from
docs/operations.md (only ports and file paths replaced), so the
documentation is what is tested; it serves HTTPS with a self-signed
certificate, and gunicorn runs with production cookies (SECURE_COOKIES=1). Clients bind their sockets to their own loopback addresses
(127.0.0.0/8 is all local), so nginx sees - and writes into X-Forwarded-For -
a different address for each customer or attacker.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest
from gunicorn.ctl.client import ControlClient

from app.accounts.models import Role

from .conftest import IN_CI, PASSWORD, ROOT, csrf_token_from

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)

if NGINX is None:  # pragma: no cover - scripts/system-packages installs it; CI must not skip
    if IN_CI:
        raise RuntimeError("nginx is missing: scripts/system-packages installs it")
    pytest.skip("nginx is not installed (scripts/system-packages)", allow_module_level=True)

NOBODY = 65534
#: The test's nginx has a self-signed certificate; the client does not check it.
UNVERIFIED = ssl._create_unverified_context()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, log: Path, seconds: float = 20) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}:\n{log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} never opened:\n{log.read_text()}")


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def spawn_gunicorn(config, port: int, folder: Path, **settings: str) -> tuple[subprocess.Popen, Path]:
    """Start gunicorn -c python:app.serving on 127.0.0.1:`port`, one worker; (process, its log)."""
    env = {
        **os.environ,
        "DATABASE_URL": config.database_url,
        "SECRET_KEY": config.secret_key,
        "SECURE_COOKIES": "0",
        "MIXER_KEY_DIR": config.mixer_key_dir,
        "BIND": f"127.0.0.1:{port}",
        # One worker: with memory:// storage each worker counts on its own.
        "WEB_CONCURRENCY": "1",
        # Control sockets go to the test's folder, not the user's home.
        "XDG_RUNTIME_DIR": str(folder),
        **settings,
    }
    log = folder / f"gunicorn-{port}.log"
    with open(log, "w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:app.serving", "app:create_app()"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
        )
    return process, log


def start_gunicorn(config, port: int, folder: Path, **settings: str) -> subprocess.Popen:
    """`spawn_gunicorn`, then wait until it listens."""
    process, log = spawn_gunicorn(config, port, folder, **settings)
    try:
        wait_for_port(port, process, log)
    except Exception:
        stop(process, signal.SIGINT)
        raise
    return process


DOCUMENTED = {
    # What docs/operations.md writes -> what the test puts in its place.
    "server 127.0.0.1:5000;": "server 127.0.0.1:{upstream};",
    "listen 443 ssl;": "listen 127.0.0.1:{port} ssl;",
    "/etc/ssl/certs/enkat.example.se.pem": "{prefix}/cert.pem",
    "/etc/ssl/private/enkat.example.se.key": "{prefix}/key.pem",
    "/var/log/nginx/kundrost.log": "{prefix}/access.log",
}


def documented_nginx() -> str:
    """docs/operations.md's nginx configuration (upstream, TLS server, access log), as written there."""
    text = (ROOT / "docs" / "operations.md").read_text()
    blocks = re.findall(r"```nginx\n(.*?)```", text, re.S)
    server = next(block for block in blocks if "proxy_pass http://kundrost;" in block)
    logging = next(block for block in blocks if "log_format" in block)
    return logging + server


def self_signed_certificate(folder: Path) -> None:
    """folder/cert.pem and folder/key.pem: a one-day certificate for enkat.example.se."""
    from datetime import datetime, timedelta, timezone

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "enkat.example.se")])
    now = datetime.now(timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=1))
                   .sign(key, hashes.SHA256()))
    (folder / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


@dataclass
class Nginx:
    port: int
    prefix: Path
    process: subprocess.Popen

    def request(self, method: str, path: str, *, source: str, headers: dict | None = None,
                body: str | None = None, cookie: str | None = None) -> tuple[int, str, str | None]:
        """One request from the loopback address `source`; (status, body, session cookie)."""
        connection = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=15, source_address=(source, 0),
                                                 context=UNVERIFIED)
        sent = dict(headers or {})
        if cookie:
            sent["Cookie"] = cookie
        if body is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        data = response.read().decode()
        cookies = [value.split(";")[0] for name, value in response.getheaders()
                   if name.lower() == "set-cookie" and value.startswith("kr=")]
        connection.close()
        return response.status, data, (cookies[-1] if cookies else cookie)

    def sign_in(self, username: str, password: str, *, source: str, headers: dict | None = None) -> int:
        """Fetch the form, then post it, both from `source`; the status of the post."""
        status, page, cookie = self.request("GET", "/staff/login", source=source, headers=headers)
        assert status == 200, page
        body = urlencode({"csrf_token": csrf_token_from(page), "username": username, "password": password})
        return self.request("POST", "/staff/login", source=source, headers=headers, body=body, cookie=cookie)[0]


def start_nginx(upstream_port: int) -> Nginx:
    """nginx configured as docs/operations.md says (TLS included), in front of 127.0.0.1:`upstream_port`."""
    prefix = Path(tempfile.mkdtemp(prefix="kundrost-nginx-"))
    port = free_port()
    configuration = documented_nginx()
    for documented, here in DOCUMENTED.items():
        assert configuration.count(documented) == 1, f"docs/operations.md no longer says {documented!r}"
        configuration = configuration.replace(
            documented, here.format(upstream=upstream_port, port=port, prefix=prefix))
    self_signed_certificate(prefix)
    (prefix / "nginx.conf").write_text(f"""
daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
{configuration}
}}
""")
    as_nobody = {}
    if os.geteuid() == 0:
        # nginx runs as a plain user, never as root: as nobody, in a folder of its own.
        os.chmod(prefix, 0o755)
        for path in [prefix, *prefix.iterdir()]:
            os.chown(path, NOBODY, NOBODY)
        as_nobody = {"user": NOBODY, "group": NOBODY, "extra_groups": []}
    log = prefix / "error.log"
    process = subprocess.Popen(
        [NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", str(log)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, **as_nobody,
    )
    try:
        wait_for_port(port, process, log)
    except Exception:
        stop(process)
        shutil.rmtree(prefix, ignore_errors=True)
        raise
    return Nginx(port, prefix, process)


@pytest.fixture
def proxied(app, config, tmp_path):
    """nginx (as documented, over HTTPS) in front of gunicorn with TRUSTED_PROXY_COUNT=1, production cookies
    and the default limits."""
    upstream = free_port()
    gunicorn = start_gunicorn(config, upstream, tmp_path, TRUSTED_PROXY_COUNT="1", SECURE_COOKIES="1")
    nginx = start_nginx(upstream)
    yield nginx
    stop(nginx.process, signal.SIGQUIT)
    stop(gunicorn, signal.SIGINT)  # gunicorn's quick shutdown
    shutil.rmtree(nginx.prefix, ignore_errors=True)


def address(group: int, number: int) -> str:
    """A loopback address of its own: 127.<group>.<number // 250>.<1 + number % 250>."""
    return f"127.{group}.{number // 250}.{1 + number % 250}"


def test_an_sms_send_out_to_300_customers_meets_no_429(app, world, proxied):
    tokens = world.invite(app, "sv", count=300)
    statuses = [proxied.request("GET", f"/s/{token}", source=address(1, n))[0] for n, token in enumerate(tokens)]
    assert statuses == [303] * 300


def test_one_client_gets_429_after_its_budget_and_cannot_change_who_it_is(proxied):
    # RATELIMIT_LINK_OPEN's default: 30 link openings a minute per client.
    guesser = address(2, 0)
    statuses = [proxied.request("GET", "/s/" + "B" * 22, source=guesser)[0] for _ in range(31)]
    assert statuses == [404] * 30 + [429]
    # Writing another client address into the headers changes nothing ...
    for spoof in ({"X-Forwarded-For": "203.0.113.7"}, {"X-Forwarded-For": "203.0.113.8, 198.51.100.9"},
                  {"X-Real-IP": "203.0.113.9"}, {"Forwarded": "for=203.0.113.10"},
                  {"X-Forwarded-For": address(2, 1)}):
        assert proxied.request("GET", "/s/" + "B" * 22, source=guesser, headers=spoof)[0] == 429, spoof
    # ... and another client claiming to be the guesser keeps its own budget.
    claiming = {"X-Forwarded-For": guesser}
    assert proxied.request("GET", "/s/" + "B" * 22, source=address(2, 2), headers=claiming)[0] == 404


def test_ten_wrong_passwords_from_one_address_lock_out_no_one_else(make_user, proxied):
    make_user(Role.ANALYST, "anna")
    make_user(Role.ADMIN, "bertil")
    attacker = address(3, 0)
    # Ten failures, each claiming to come from somewhere else: one client all the same.
    failures = [proxied.sign_in("anna", f"guess-{n}", source=attacker, headers={"X-Forwarded-For": f"198.51.100.{n}"})
                for n in range(10)]
    assert failures == [401] * 10
    assert proxied.sign_in("bertil", "guess-10", source=attacker) == 429
    assert proxied.sign_in("anna", PASSWORD, source=attacker) == 429
    # Anna herself and her colleague, each from their own address, sign in.
    assert proxied.sign_in("anna", PASSWORD, source=address(3, 1)) == 303
    assert proxied.sign_in("bertil", PASSWORD, source=address(3, 2)) == 303


def test_many_addresses_cannot_brute_force_one_account(make_user, proxied):
    make_user(Role.ANALYST, "anna")
    make_user(Role.ADMIN, "bertil")
    # 55 addresses, one guess each, the name typed as people do: one account.
    spellings = ["anna", "ANNA", "Anna ", " anna"]
    statuses = [proxied.sign_in(spellings[n % 4], f"guess-{n}", source=address(4, n)) for n in range(55)]
    assert statuses == [401] * 50 + [429] * 5
    # The right password no longer gets through either: guessing has stopped.
    assert proxied.sign_in("anna", PASSWORD, source=address(4, 100)) == 429
    # Other accounts are untouched.
    assert proxied.sign_in("bertil", PASSWORD, source=address(4, 101)) == 303


def test_the_proxy_log_keeps_no_respondent_path_and_no_address(app, world, proxied):
    token = world.invite(app, "sv")[0]
    assert proxied.request("GET", f"/s/{token}", source=address(5, 0))[0] == 303
    assert proxied.request("GET", "/staff/login", source=address(5, 0))[0] == 200
    stop(proxied.process, signal.SIGQUIT)  # nginx writes its log out as it stops
    log = (proxied.prefix / "access.log").read_text()
    assert "/staff/login" in log
    assert token not in log and "/s/" not in log
    assert "127.5.0.1" not in log


def test_two_instances_on_one_host_each_keep_their_own_control_socket(app, config, tmp_path):
    ports = [free_port(), free_port()]
    instances = [spawn_gunicorn(config, port, tmp_path) for port in ports]  # both at once
    try:
        for port, (process, log) in zip(ports, instances):
            wait_for_port(port, process, log)
        for port in ports:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", "/health")
            assert connection.getresponse().status == 200
        for port in ports:
            socket_path = tmp_path / f"kundrost-127.0.0.1-{port}.ctl"
            with ControlClient(str(socket_path), timeout=10) as control:
                assert control.send_command("show config")["bind"] == [f"127.0.0.1:{port}"]
        assert not (tmp_path / "gunicorn.ctl").exists()
    finally:
        for process, _ in instances:
            stop(process, signal.SIGINT)


@pytest.mark.parametrize("bind, expected", [
    ("127.0.0.1:5000", "/run/user/1000/kundrost-127.0.0.1-5000.ctl"),
    ("0.0.0.0:8001", "/run/user/1000/kundrost-0.0.0.0-8001.ctl"),
    ("[::1]:5000", "/run/user/1000/kundrost-1-5000.ctl"),
    ("unix:/run/kundrost/web.sock", "/run/user/1000/kundrost-unix-run-kundrost-web.sock.ctl"),
    ("unix:/srv/municipalities/nacka/staging/run/gunicorn.sock",
     # Shortened: its first 24 characters and 12 hex digits of SHA-256 of the whole bind.
     "/run/user/1000/kundrost-unix-srv-municipalities-36c1deb8b630.ctl"),
])
def test_the_control_socket_is_named_after_the_bind_address(bind, expected):
    from app.config import Config
    from app.serving import control_socket_path

    assert control_socket_path(Config(bind=bind), default_socket="/run/user/1000/gunicorn.ctl") == expected
    assert control_socket_path(Config(bind=bind, control_socket="/srv/web.ctl")) == "/srv/web.ctl"
