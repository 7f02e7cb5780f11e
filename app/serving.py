"""Gunicorn settings: `gunicorn -c python:app.serving "app:create_app()"`.

With EMBEDDED_MIXER=1 (what `make run` sets: the embedded default, one
machine) gunicorn also starts the mixing step beside itself -
`flask --app app mixer run` as a child process - and stops it when it
stops. In production the mixer runs on its own host instead
(docs/operations.md).
"""

import hashlib
import multiprocessing
import os
import re
import subprocess
import sys

from gunicorn.config import ControlSocket

from app.config import Config
from app.logs import ACCESS_LOG_FORMAT


def control_socket_path(config: Config, default_socket: str = ControlSocket.default) -> str:
    """The path of this instance's gunicorn control socket (`gunicornc -s PATH`).

    `config.control_socket` when set; otherwise a file named after the bind
    address - e.g. `kundrost-127.0.0.1-5000.ctl` - in the folder of
    gunicorn's own default (`$XDG_RUNTIME_DIR`, else `~/.gunicorn`). Gunicorn
    27 gives every instance the same `gunicorn.ctl` there: a second instance
    (staging beside production) unlinks the first one's socket and takes it
    over, so `gunicornc shutdown` would stop the wrong one. Two running
    instances never share a bind address, so theirs never collide. A long
    bind (a deep unix socket path) is shortened with a hash: a socket path
    must stay under about 100 bytes.
    """
    if config.control_socket:
        return config.control_socket
    name = re.sub(r"[^A-Za-z0-9.]+", "-", config.bind).strip("-")
    if len(name) > 40:
        name = name[:24].rstrip("-") + "-" + hashlib.sha256(config.bind.encode()).hexdigest()[:12]
    return os.path.join(os.path.dirname(default_socket), f"kundrost-{name}.ctl")


_config = Config.from_env()
bind = [address.strip() for address in _config.bind.split(",") if address.strip()]
workers = _config.web_concurrency or max(2, multiprocessing.cpu_count())
worker_class = "sync"
accesslog = "-"
errorlog = "-"
access_log_format = ACCESS_LOG_FORMAT
logger_class = "app.logs.AnonymousAccessLogger"
# Behind a reverse proxy the proxy's own logs must be configured the same way (docs/operations.md).
# Gunicorn believes no forwarded header from anyone: the application applies
# X-Forwarded-For/-Proto itself, trusting exactly TRUSTED_PROXY_COUNT hops
# (werkzeug's ProxyFix, app/__init__.py), so one rule decides who the client is.
forwarded_allow_ips = ""
control_socket_disable = _config.control_socket == "off"
control_socket = control_socket_path(_config)

_mixer: list[subprocess.Popen] = []


def on_starting(server) -> None:
    """Start the embedded mixer once, in the arbiter, before any worker."""
    if _config.embedded_mixer:
        from app.mixing.cli import PARENT_PID_VARIABLE

        # The mixer needs seconds to import and build the app: it learns who
        # its server is from us, so a server killed meanwhile is noticed too.
        environment = {**os.environ, PARENT_PID_VARIABLE: str(os.getpid())}
        command = [sys.executable, "-m", "flask", "--app", "app", "mixer", "run"]
        _mixer.append(subprocess.Popen(command, env=environment))
        server.log.info("embedded mixer started (pid %s)", _mixer[0].pid)


def on_exit(server) -> None:
    """Stop the embedded mixer with the server: it finishes its round's transaction first."""
    for process in _mixer:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()

