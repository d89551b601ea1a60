# The two commands of the quick start: `make run` and `make test`. See README.md.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# Test processes (pytest-xdist): both cores of the reference machine.
PYTEST_WORKERS ?= 2
# make bench: comments generated (SIZE=1000000 for the full run).
SIZE ?= 100000

.PHONY: run serve test test-fast test-journeys lint format migrate seed messages bench clean

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

venv: $(STAMP)

migrate: $(STAMP)
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

## make run: set everything up, seed the demo consultation, serve on http://127.0.0.1:8000
run: seed
	$(PY) manage.py collectstatic --noinput --verbosity 0
	@$(PY) manage.py demo_accounts --url http://$(HOST):$(PORT)/
	@echo "Serving on http://$(HOST):$(PORT)/  (Ctrl-C to stop)"
	$(PY) manage.py runserver $(HOST):$(PORT)

## make serve: production (gunicorn, Celery worker and beat) on config.settings.production, configured
## from the environment (docs/production.md); it refuses to start while a required setting is missing.
serve: export DJANGO_SETTINGS_MODULE = config.settings.production
serve: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	@mkdir -p var  # beat's schedule file (local settings create var/ themselves, production does not)
	$(VENV)/bin/honcho start -f Procfile

## make test: the whole suite (with CI=true, PostgreSQL, Redis, a Celery worker and Chromium must be there)
test: lint
	$(PY) manage.py makemigrations --check --dry-run --settings=config.settings.test
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

## make test-journeys: every persona's journey in every way (desktop and phone, English and Vietnamese)
## with axe-core on every page: 28 walks; the suite walks each persona in one or two of those ways.
test-journeys: $(STAMP)
	JOURNEYS_EVERY_WAY=1 $(PY) -m pytest -n $(PYTEST_WORKERS) --dist load tests/e2e/test_journeys_accessible.py

## make lint: ruff, the import contracts between apps (import-linter) and the types (mypy); docs/architecture.md
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## make messages: refresh the translation catalogues, then compile them
messages: $(STAMP)
	$(PY) manage.py makemessages -l vi --no-obsolete --ignore=.venv --ignore=staticfiles --ignore=tests --ignore=node_modules
	$(PY) manage.py compilemessages --ignore=.venv

## make bench [SIZE=100000]: the scale benchmark on a dedicated PostgreSQL database; docs/performance.md
bench: $(STAMP)
	$(PY) -m benchmarks --size $(SIZE)

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache
