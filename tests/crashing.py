"""A process that does one thing and dies at a named crash point (app/crashpoints.py).

Run by tests/test_crash_safety.py as `python -m tests.crashing '<json>'`:
it builds the app on the test's database and key folder with `crash_at`
set, then submits an answer, runs a mixer round, or finalises a campaign.
At the named point it kills itself with SIGKILL - no cleanup at all - and
the test checks what was left behind.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import date

from app import create_app
from app.config import Config
from app.mixing.mixer import Mixer


def main(raw: str) -> None:
    job = json.loads(raw)
    config = Config(database_url=job["database_url"], secret_key="test-secret-key-not-for-production",
                    public_url="https://enkat.example.se", secure_cookies=False,
                    ratelimit_link_open="1000 per minute", mixer_key_dir=job["key_dir"],
                    crash_at=job["crash_at"])
    app = create_app(config, instance_path=job["instance"])
    app.config.update(TESTING=True)
    if job["action"] == "submit":
        client = app.test_client()
        assert client.get(f"/s/{job['token']}").status_code == 303
        page = client.get("/survey").get_data(as_text=True)
        csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        client.post("/survey", data={"csrf_token": csrf, "action": "send_anyway", **job["answers"]})
        return
    offset = job.get("clock_offset", 0)
    mixer = Mixer(app.extensions["kundrost.db"], config, now=lambda: time.time() + offset)
    with mixer.lock():
        mixer.start()
        if job["action"] == "round":
            mixer.round()
        elif job["action"] == "finalise":
            mixer.finalise(job["campaign_id"], date.fromisoformat(job["today"]))


if __name__ == "__main__":
    main(sys.argv[1])
