"""The results queries use the index meant for them (migration 0008), not a scan or another index.

SQLite's planner picked the wrong one of two indexes once (6x slower, issue
9): the plans are checked here, for the query shapes the bench measures
(bench/analytics.py QUERIES). PostgreSQL may rightly scan a small table
whole, so there the plan is taken with sequential scans switched off
(`enable_seqscan = off`): what is checked is that the index can serve the
query, and which one it is.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from app.analytics.synthetic import synthesize
from app.clock import local_today
from bench.analytics import QUERIES, subject_of

RESPONSE_INDEX = "ix_response_campaign_cell"


@pytest.fixture
def plans(app):
    """EXPLAIN of every shape of QUERIES over a small synthetic set: name -> plan text (SQLite) or JSON (PostgreSQL)."""
    database = app.extensions["kundrost.db"]
    with app.app_context():
        today = local_today()
    synthesize(database, app.config["KUNDROST"], today, responses=120, providers=4, programmes=2, campaigns=2, seed=3)
    found = {}
    with database.engine.connect() as connection:
        subject = subject_of(connection)
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            connection.execute(text("SET enable_seqscan = off"))
        for name in QUERIES:
            sql = subject.sql(name)
            if postgres:
                found[name] = json.dumps(connection.execute(text("EXPLAIN (FORMAT JSON) " + sql),
                                                            {"c": subject.campaign_id}).scalar())
            else:
                found[name] = "\n".join(row[-1] for row in connection.execute(text("EXPLAIN QUERY PLAN " + sql),
                                                                              {"c": subject.campaign_id}))
        connection.rollback()
    return postgres, found


def test_the_status_counts_read_the_covering_index_only(plans):
    postgres, found = plans
    if postgres:
        assert f'"Index Name": "{RESPONSE_INDEX}"' in found["q1_status"]
        # Index Only Scan once vacuumed (the visibility map); a fresh test table gets an Index Scan.
        assert '"Seq Scan"' not in found["q1_status"]
    else:
        assert found["q1_status"].splitlines()[0] == f"SEARCH response USING COVERING INDEX {RESPONSE_INDEX} (campaign_id=?)"


def test_the_distributions_start_from_the_campaign_and_read_answers_by_response(plans):
    postgres, found = plans
    for name in ("q2_answers", "q2_answers_4_campaigns", "q2_by_programme", "q2_by_language", "q2_by_month",
                 "q4_by_gender"):
        plan = found[name]
        if postgres:
            assert f'"Index Name": "{RESPONSE_INDEX}"' in plan, name
            assert '"Relation Name": "answer"' in plan and '"Seq Scan"' not in plan, name
        else:
            lines = plan.splitlines()
            # The campaign's responses from the covering index first, then each one's answers by the primary key.
            assert lines[0].startswith(f"SEARCH r USING COVERING INDEX {RESPONSE_INDEX} (campaign_id="), name
            assert "SEARCH a USING PRIMARY KEY (response_id=?)" in lines, name
            assert not any(line.startswith("SCAN") for line in lines), plan


def test_the_nki_reads_the_personal_scores_from_the_covering_index_only(plans):
    postgres, found = plans
    plan = found["q3_nki"]
    if postgres:
        assert f'"Index Name": "{RESPONSE_INDEX}"' in plan and '"Seq Scan"' not in plan
        assert '"Relation Name": "answer"' not in plan
    else:
        assert plan.splitlines()[0] == f"SEARCH response USING COVERING INDEX {RESPONSE_INDEX} (campaign_id=?)"
        assert "answer" not in plan


def test_the_kept_answer_counts_are_read_by_campaign_and_dimension(plans):
    postgres, found = plans
    for name in ("kept_answers", "kept_answers_4_campaigns", "kept_by_gender"):
        plan = found[name]
        if postgres:
            assert '"Index Name": "pk_answer_count"' in plan and '"Seq Scan"' not in plan, name
        else:
            assert plan.splitlines()[0] == (
                "SEARCH answer_count USING PRIMARY KEY (campaign_id=? AND dimension=?)"), (name, plan)
