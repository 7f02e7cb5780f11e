"""requirements.lock agrees with pyproject.toml.

`make run`, `make test` and CI install every package from requirements.lock
(README, "Dependencies"); pyproject.toml is where people change a pin. If the
two disagree, the machines run something else than the pins say. These tests
fail until `make lock` has been run after a pin changed.
"""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^\s;\\]+)")


def _normalised(name: str) -> str:
    """PEP 503 name: case and runs of -_. do not matter."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _locked() -> dict[str, str]:
    lines = (ROOT / "requirements.lock").read_text().splitlines()
    return {_normalised(m[1]): m[2] for line in lines if (m := PIN.match(line))}


def _direct_pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + [
        requirement for extra in project["optional-dependencies"].values() for requirement in extra
    ]
    pins = {}
    for requirement in requirements:
        match = PIN.match(requirement)
        assert match, f"{requirement!r} in pyproject.toml is not pinned with =="
        pins[_normalised(match[1])] = match[2]
    return pins


def test_every_direct_pin_is_locked_at_the_same_version():
    locked = _locked()
    differing = {
        name: (version, locked.get(name)) for name, version in _direct_pins().items() if locked.get(name) != version
    }
    assert differing == {}, "run `make lock`: pyproject pin vs lock"


def test_the_lock_pins_indirect_dependencies_with_hashes():
    text = (ROOT / "requirements.lock").read_text()
    locked = _locked()
    # Werkzeug, Jinja2 and cffi are never direct dependencies here: if they are
    # missing, the lock holds only what pyproject.toml names.
    assert {"werkzeug", "jinja2", "cffi"} <= set(locked)
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n\n", 1)[-1].strip())
    unhashed = [entry.split("==")[0] for entry in entries if PIN.match(entry) and "--hash=sha256:" not in entry]
    assert unhashed == []
