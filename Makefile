# Two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export FLASK_APP := bookshelf

.PHONY: run test test-slow lint format lock bench profile soak screenshots clean install install-dev i18n-extract i18n-compile

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Stamps re-run the install only when the pins change.
$(VENV)/.installed-main: requirements/main.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements/main.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

# The wheelhouse holds the pinned wheels for the releases the end-to-end deploy test builds,
# so that `make test` needs no network after this one online install.
$(VENV)/.installed-dev: requirements/dev.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements/dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/pip download --quiet --no-deps -d $(VENV)/wheelhouse -r requirements/dev.txt setuptools
	touch $@ $(VENV)/.installed-main

$(VENV)/.installed-bench: requirements/bench.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements/bench.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@ $(VENV)/.installed-main $(VENV)/.installed-dev

# Message catalogues are compiled from the committed .po files, never committed as binaries.
TRANSLATIONS := src/bookshelf/translations
PYBABEL ?= $(BIN)/pybabel
CATALOGUES := $(patsubst %.po,%.mo,$(wildcard $(TRANSLATIONS)/*/LC_MESSAGES/messages.po))

$(TRANSLATIONS)/%/LC_MESSAGES/messages.mo: $(TRANSLATIONS)/%/LC_MESSAGES/messages.po | $(VENV)/.installed-main
	$(BIN)/pybabel compile --use-fuzzy -d $(TRANSLATIONS) -l $*

i18n-extract: install-dev
	$(PYBABEL) extract -F babel.cfg -k _l -k lazy_gettext --no-location --omit-header \
		-o $(TRANSLATIONS)/messages.pot src/bookshelf
	$(PYBABEL) update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) --width 100

i18n-compile: $(CATALOGUES)

install: $(VENV)/.installed-main
install-dev: $(VENV)/.installed-dev

# `flask …` typed by hand in this checkout gets the same development settings as `make run`.
# Written once and never committed: a release checkout has none, so production is unaffected.
.flaskenv:
	printf '# Written by make run: development settings for the flask command.\nFLASK_APP=bookshelf\nBOOKSHELF_ENV=development\n' > $@

run: export BOOKSHELF_ENV = development
run: install i18n-compile .flaskenv
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-classics
	$(BIN)/flask --debug run --host $(HOST) --port $(PORT)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Two processes (one per core here, at most four elsewhere): most tests wait on servers,
# subprocesses and databases, so this halves the wall time. A test file stays in one process.
PYTEST_WORKERS ?= --numprocesses auto --maxprocesses 4 --dist loadfile
# `make test` leaves out the tests marked slow (whole deploys end to end, fleets of sshd
# servers, browsers against deployhook, the soak): `make test-slow` runs those, and .ci/run
# runs both, so CI still runs every test.
test: lint i18n-compile node_modules/.package-lock.json
	$(BIN)/pytest $(PYTEST_WORKERS) -m "not slow" $(PYTEST_ARGS)

test-slow: install-dev i18n-compile node_modules/.package-lock.json
	$(BIN)/pytest $(PYTEST_WORKERS) -m slow $(PYTEST_ARGS)

# axe-core for the browser accessibility check; without npm that one check is skipped.
node_modules/.package-lock.json: package-lock.json
	@if command -v npm >/dev/null; then npm ci --no-audit --no-fund --silent; \
	else echo "npm not found: the accessibility check will be skipped"; fi

screenshots: install-dev i18n-compile node_modules/.package-lock.json
	$(BIN)/pytest tests/browser/screenshots.py -q -p no:cacheprovider

# Regenerate the exact pins from the ranges in pyproject.toml.
lock:
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv
	.lockenv/bin/pip install --quiet --upgrade pip
	.lockenv/bin/pip install --quiet .
	.lockenv/bin/pip freeze --exclude bookshelf > requirements/main.txt
	.lockenv/bin/pip install --quiet '.[dev]'
	.lockenv/bin/pip freeze --exclude bookshelf > requirements/dev.txt
	.lockenv/bin/pip install --quiet '.[dev,bench]'
	.lockenv/bin/pip freeze --exclude bookshelf > requirements/bench.txt
	rm -rf .lockenv

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# Load tests with wrk against gunicorn/granian on loopback; settings in bench/run.py.
# BENCH_ROWS=10000,100000,1000000 make bench  for the full run (default: 100000 books).
bench: $(VENV)/.installed-bench
	command -v wrk >/dev/null || (apt-get update && apt-get install -y wrk)
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.goodreads_import

# In-process breakdown of /books, /books/<id>, /search and /healthz by phase and hook (cProfile
# and timers; bench/profile.py): bench/results/profile-*.md and docs/PERFORMANCE.md.
# PROFILE_ARGS="--compare bench/results/profile-….json" prints before → after.
profile: $(VENV)/.installed-bench i18n-compile
	$(BIN)/python -m bench.profile $(PROFILE_ARGS)

# bandit (medium/high findings must be explained in tools/audit.py), pip-audit on
# requirements/*.txt, and a scan of tracked files for secrets. Needs the network for the
# look-ups, so it is not part of `make test` (which must pass offline); .ci/run runs it after
# the tests. Pins it could not look up are listed as not audited; AUDIT_STRICT=1 fails on them.
.PHONY: audit
audit: install-dev
	$(BIN)/python -m tools.audit

# Bounded load and fault runs on loopback (about 4 minutes; restarts the local PostgreSQL
# cluster once): prints the table recorded in docs/RELIABILITY.md. SOAK_ARGS=--short is the
# version `make test` runs; SOAK_ARGS=--no-pg-restart leaves PostgreSQL alone.
soak: install-dev
	command -v nginx >/dev/null || (apt-get update && apt-get install -y nginx)
	$(BIN)/python -m soak.run $(SOAK_ARGS)
