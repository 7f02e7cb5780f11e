"""Gunicorn settings: `gunicorn -c python:app.serving "app:create_app()"`.

With EMBEDDED_MIXER=1 (what `make run` sets: the embedded default, one
machine) gunicorn also starts the mixing step beside itself -
`flask --app app mixer run` as a child process - and stops it when it
stops. In production the mixer runs on its own host instead
(docs/operations.md).
"""

import multiprocessing
import os
import subprocess
import sys

from app.config import Config
from app.logs import ACCESS_LOG_FORMAT

bind = os.environ.get("BIND", "127.0.0.1:5000")
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, multiprocessing.cpu_count())))
worker_class = "sync"
accesslog = "-"
errorlog = "-"
access_log_format = ACCESS_LOG_FORMAT
logger_class = "app.logs.AnonymousAccessLogger"
# Behind a reverse proxy the proxy's own logs must be configured the same way (docs/operations.md).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

_mixer: list[subprocess.Popen] = []


def on_starting(server) -> None:
    """Start the embedded mixer once, in the arbiter, before any worker."""
    if Config.from_env().embedded_mixer:
        _mixer.append(subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "mixer", "run"]))
        server.log.info("embedded mixer started (pid %s)", _mixer[0].pid)


def on_exit(server) -> None:
    """Stop the embedded mixer with the server: it finishes its round's transaction first."""
    for process in _mixer:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
