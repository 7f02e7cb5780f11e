"""The floor the real app is measured against: bare Flask + SQLAlchemy.

Served exactly like the app (gunicorn, same worker settings, same database
engine settings from `app.db.make_engine`), with two routes:

- `GET /hello`: a constant string, no database, no templates;
- `POST /insert`: inserts one row through an ORM session and commits.

Run it: `DATABASE_URL=... gunicorn -c python:bench.gunicorn_baseline "bench.baseline_app:create_app()"`.
The table must exist first: `create_table(url)`.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone

from flask import Flask, request
from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from app.config import Config
from app.db import make_engine


class Base(DeclarativeBase):
    pass


class Row(Base):
    __tablename__ = "bench_baseline_row"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payload: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def _url(url: str) -> str:
    return Config(database_url=url).resolved_database_url("")


def create_table(url: str) -> None:
    engine = make_engine(_url(url))
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    engine.dispose()


def count_rows(url: str) -> int:
    from sqlalchemy import func, select

    engine = make_engine(_url(url))
    with engine.connect() as connection:
        count = connection.scalar(select(func.count()).select_from(Row))
    engine.dispose()
    return count


def create_app(database_url: str | None = None) -> Flask:
    engine = make_engine(_url(database_url or os.environ["DATABASE_URL"]))
    make_session = sessionmaker(engine, expire_on_commit=False)
    app = Flask(__name__)

    @app.get("/hello")
    def hello():
        return "hello"

    @app.post("/insert")
    def insert():
        with make_session() as session:
            session.add(Row(payload=request.form.get("payload", "")[:200],
                            created_at=datetime.now(timezone.utc)))
            session.commit()
        return "stored", 201

    return app
