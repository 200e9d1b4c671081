# The two set-up commands are `make run` and `make test`; the rest are their steps.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint audit install install-test lock assets messages services system-deps browser

# Python packages come from the lock (requirements/*.txt: exact versions with hashes, made
# by `make lock` from pyproject.toml's ranges); the project itself is installed on top of
# them without dependencies. A changed lock or pyproject.toml installs again.
$(VENV)/.installed: pyproject.toml requirements/base.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r requirements/base.txt
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml requirements/test.txt
	$(PY) -m pip install --quiet --require-hashes -r requirements/test.txt
	$(PY) -m pip install --quiet --no-deps -e '.[test]'
	@touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# Refreshes the lock after a change to pyproject.toml's ranges, keeping every other pin:
# base.txt (runtime) and test.txt (runtime + the test extra, held to base.txt's versions),
# for Python 3.11 on Linux. To take upgrades: make lock LOCK_ARGS=--upgrade (everything)
# or LOCK_ARGS='--upgrade-package django' (one package). uv is needed only here.
LOCK_ARGS ?=
UV_COMPILE = $(VENV)/bin/uv pip compile pyproject.toml --python-version 3.11 \
	--python-platform linux --generate-hashes --custom-compile-command 'make lock' \
	--quiet $(LOCK_ARGS)

lock:
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@test -x $(VENV)/bin/uv || $(PY) -m pip install --quiet uv
	@mkdir -p requirements
	$(UV_COMPILE) -o requirements/base.txt
	$(UV_COMPILE) --extra test -c requirements/base.txt -o requirements/test.txt

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
	$(VENV)/bin/mypy

# Dependency audit; needs the advisory services of PyPI and npm (not reachable on every
# network: then it says "NOT checked" and exits 3).
audit: install-test assets
	@$(PY) -m pip install --quiet pip-audit
	@bash scripts/audit.sh
