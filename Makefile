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

.PHONY: run test test-sqlite test-postgres bench setup catalogs system-packages clean

## run: install, create the demo municipality on SQLite and serve it, with the mixer beside it
run: setup catalogs
	$(RUN_ENV) $(BIN)/flask --app app demo --reset
	$(RUN_ENV) EMBEDDED_MIXER=1 $(BIN)/gunicorn -c python:app.serving "app:create_app()"

## test: install everything the tests need and run them (SQLite; PostgreSQL too when TEST_DATABASE_URL is set)
test: setup catalogs node_modules/axe-core system-packages
	$(BIN)/pytest

## bench: the benchmarks (docs/performance.md)
bench: setup catalogs
	$(BIN)/python -m bench

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

catalogs: setup
	$(BIN)/python -m app.i18n.cli compile

node_modules/axe-core: package.json
	npm ci --no-audit --no-fund --silent || npm install --no-audit --no-fund --silent

system-packages:
	scripts/system-packages

clean:
	rm -rf $(VENV) node_modules instance
