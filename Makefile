# Kundröst: the two front-door commands are `make run` and `make test`.
# Everything else here is what they are made of.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
HOST   ?= 127.0.0.1

# Local demo over plain HTTP on this machine, as the demo's fictional
# municipality (app/demo.py: DEMO_MUNICIPALITY, DEMO_LOGO); production sets these itself.
RUN_ENV := SECURE_COOKIES=0 PUBLIC_URL=http://$(HOST):$(PORT) BIND=$(HOST):$(PORT) \
	MUNICIPALITY_NAME="Sjöviks kommun" MUNICIPALITY_LOGO=$(CURDIR)/app/static/demo/logo.svg

.PHONY: run serve test test-sqlite test-postgres bench setup catalogs system-packages clean lock

## run: install, create the demo municipality on SQLite and serve it, with the mixer beside it
run: setup catalogs
	$(RUN_ENV) $(BIN)/flask --app app demo --reset
	$(RUN_ENV) EMBEDDED_MIXER=1 $(BIN)/gunicorn -c python:app.serving "app:create_app()"

## serve: serve what is in the database again (no new demo), with the mixer beside it; DATABASE_URL picks another
serve: setup catalogs
	$(RUN_ENV) EMBEDDED_MIXER=1 $(BIN)/gunicorn -c python:app.serving "app:create_app()"

## test: install everything the tests need and run them (SQLite; PostgreSQL too when TEST_DATABASE_URL is set)
test: setup catalogs node_modules/axe-core system-packages
	$(BIN)/pytest

## bench: the benchmarks (docs/performance.md)
bench: setup catalogs
	$(BIN)/python -m bench

setup: $(VENV)/.installed

# Every package, direct or indirect, comes from requirements.lock with its
# hashes; the project itself is then installed on top without resolving again.
$(VENV)/.installed: pyproject.toml requirements.lock
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

## lock: pin every indirect dependency again after a change to pyproject.toml (README: "Dependencies")
lock:
	test -x $(VENV)-tools/bin/pip-compile || ($(PYTHON) -m venv $(VENV)-tools && $(VENV)-tools/bin/pip install --quiet pip-tools==7.6.2)
	$(VENV)-tools/bin/pip-compile --quiet --extra test --generate-hashes --strip-extras \
		--no-emit-index-url --no-emit-find-links --output-file requirements.lock pyproject.toml

catalogs: setup
	$(BIN)/python -m app.i18n.cli compile

node_modules/axe-core: package.json
	npm ci --no-audit --no-fund --silent || npm install --no-audit --no-fund --silent

system-packages:
	scripts/system-packages

clean:
	rm -rf $(VENV) $(VENV)-tools node_modules instance
