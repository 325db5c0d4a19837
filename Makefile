# Two commands a newcomer needs: `make run` and `make test`. Both set themselves up.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

# Production-like variables for the deploy check and the on-demand benchmarks.
PROD_ENV := DJANGO_DEBUG=0 DJANGO_ALLOWED_HOSTS=example.org \
	DJANGO_SECRET_KEY=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')

.PHONY: help run test lint format typecheck check-deploy bench loadtest lighthouse screenshot system-deps clean

help:
	@echo "make run     set up and serve the app on http://$(HOST):$(PORT)"
	@echo "make test    set up and run every test (lint, JS, Python on SQLite and PostgreSQL, browser)"
	@echo "make typecheck   mypy with django-stubs (also part of make test)"
	@echo "make bench   benchmarks, on demand"
	@echo "make lighthouse / make screenshot   Lighthouse scores; the README's screenshot"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall only when the pins change.
$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

run: $(VENV)/.runtime
	DJANGO_DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DJANGO_DEBUG=1 $(BIN)/python manage.py runserver $(HOST):$(PORT)

# Debian packages the tests need, each installed on its own only when missing (see the script).
system-deps:
	scripts/system-deps.sh

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

lint: $(VENV)/.dev node_modules/.package-lock.json
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	npx --no-install eslint .

format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# django-stubs' plugin loads the settings, which want a secret key; mypy never serves anything.
typecheck: $(VENV)/.dev
	DJANGO_SECRET_KEY=mypy-only $(BIN)/mypy

test: $(VENV)/.dev system-deps node_modules/.package-lock.json
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	npx --no-install eslint .
	DJANGO_SECRET_KEY=mypy-only $(BIN)/mypy
	DJANGO_DEBUG=0 DJANGO_SECRET_KEY=collectstatic-only $(BIN)/python manage.py collectstatic --noinput --clear -v0
	node --test --test-reporter=dot tests/js/
	$(BIN)/pytest
	@echo "--- The same tests, browser tests aside, against PostgreSQL ---"
	scripts/with-postgres.sh $(BIN)/pytest -m "not browser and not instances" -p no:cacheprovider
	@echo "--- Two instances on shared PostgreSQL and Redis (each stopped mid-run) ---"
	$(BIN)/pytest -m instances -p no:cacheprovider

check-deploy: $(VENV)/.runtime
	$(PROD_ENV) $(BIN)/python manage.py check --deploy --fail-level WARNING

bench: $(VENV)/.dev system-deps
	$(BIN)/pytest tests/bench --benchmark-enable --benchmark-columns=min,median,mean,max,rounds
	$(BIN)/python scripts/loadtest.py
	$(BIN)/python scripts/loadtest_cds.py

lighthouse: $(VENV)/.dev
	$(BIN)/python scripts/lighthouse.py

# The README's phone-sized pictures (give and hold, light and dark), taken by the browser tests.
screenshot: $(VENV)/.dev system-deps
	SCREENSHOT_TO=$(CURDIR)/docs/screenshot.png SCREENSHOT_DIR=$(CURDIR)/docs \
		$(BIN)/pytest tests/browser -k "screenshot" -q
	PREPARATION_SHEET_TO=$(CURDIR)/docs/preparation-sheet.png $(BIN)/pytest tests/browser/test_preparation_sheet.py -k online -q

clean:
	rm -rf staticfiles .pytest_cache .benchmarks .hypothesis
