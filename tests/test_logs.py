"""Logs never name a token, a respondent page or a client address."""

from __future__ import annotations

import http.client
import logging
import os
import re
import socket
import subprocess
import sys
import time
from urllib.parse import urlencode

import pytest

from .conftest import ROOT, csrf_token_from
from .helpers import count_stored, definition_of, full_answers, html_tag, translated


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn(app, config, tmp_path):
    port = free_port()
    log = tmp_path / "gunicorn.log"
    env = {
        **os.environ,
        "DATABASE_URL": config.database_url,
        "SECRET_KEY": config.secret_key,
        "SECURE_COOKIES": "0",
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
    }
    with open(log, "w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:app.serving", "app:create_app()"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
        )
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield port, log
    process.terminate()
    process.wait(timeout=10)


def request(port, method, path, body=None, cookie=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"User-Agent": "CanaryPhone/1.0", "Referer": "https://sms.example/inbox"}
    if cookie:
        headers["Cookie"] = cookie
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    data = response.read().decode()
    session_cookies = [
        value.split(";")[0] for name, value in response.getheaders()
        if name == "Set-Cookie" and value.startswith("kr=")
    ]
    connection.close()
    return response.status, data, (session_cookies[-1] if session_cookies else cookie)


def test_access_log_leaves_out_respondents_and_addresses(app, world, gunicorn):
    port, log = gunicorn
    definition = definition_of(app, world)
    token = world.invite(app, "ar")[0]
    status, _, cookie = request(port, "GET", f"/s/{token}")
    assert status == 303
    status, page, cookie = request(port, "GET", "/survey", cookie=cookie)
    assert status == 200
    body = urlencode({"csrf_token": csrf_token_from(page), "action": "send", **full_answers(definition)})
    status, answer_page, cookie = request(port, "POST", "/survey", body=body, cookie=cookie)
    assert status == 303, answer_page
    assert request(port, "GET", "/thanks", cookie=cookie)[0] == 200
    assert request(port, "GET", "/staff/login")[0] == 200
    assert count_stored(app) == 1
    time.sleep(0.3)
    text = log.read_text()
    access_lines = [line for line in text.splitlines() if re.search(r'"(GET|POST) /', line)]
    assert any("/staff/login" in line for line in access_lines), text
    assert token not in text
    for fragment in ("/s/", "/survey", "/thanks", "CanaryPhone", "sms.example"):
        assert fragment not in text, fragment
    for line in access_lines:
        assert "127.0.0.1" not in line


def test_errors_on_respondent_pages_are_logged_by_route_not_by_path(app, client, world, caplog, monkeypatch):
    token = world.invite(app)[0]

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("app.respond.views.find_invitation", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    with caplog.at_level(logging.ERROR):
        page = client.get(f"/s/{token}", headers={"Accept-Language": "ar"})
    assert page.status_code == 500
    html = page.get_data(as_text=True)  # the error page in the visitor's language
    assert html_tag("ar") in html
    assert f"<h1>{translated('Something went wrong', 'ar')}</h1>" in html
    assert "/s/<token>" in caplog.text
    assert token not in caplog.text
