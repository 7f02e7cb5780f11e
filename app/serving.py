"""Gunicorn settings: `gunicorn -c python:app.serving "app:create_app()"`."""

import multiprocessing
import os

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
