# The two set-up commands are `make run` and `make test`; the rest are their steps.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint audit install install-test assets messages services system-deps browser

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

assets: node_modules/.installed

system-deps:
	@bash scripts/system-deps.sh gettext

browser:
	@bash scripts/system-deps.sh chromium

messages: install system-deps
	@$(PY) manage.py compilemessages --ignore='.venv/*' --ignore='node_modules/*' -v0

services: install
	@$(PY) scripts/ensure_services.py

run: install assets messages services
	@mkdir -p var
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed_demo --if-empty
	@$(PY) scripts/print_login_help.py $(HOST) $(PORT)
	@HOST=$(HOST) PORT=$(PORT) exec bash scripts/dev.sh

test: install-test assets messages browser services
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/lint-imports

# Dependency audit; needs the advisory services of PyPI and npm (not reachable on every
# network: then it says "NOT checked" and exits 3).
audit: install-test assets
	@$(PY) -m pip install --quiet pip-audit
	@bash scripts/audit.sh
