# Hessian: the two set-up commands are `make demo` and `make test`.
# Each installs what is missing (Python venv + pinned packages, npm tools, Debian chromium).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
STAMPS := .make-stamps
PYTEST_ARGS ?=
DEMO_ARGS ?=
# apt-get needs root: use sudo when we are not root (and it exists).
SUDO   := $(shell [ "$$(id -u)" = 0 ] || command -v sudo)

.PHONY: help setup demo test lint chromium clean

help:
	@echo "make demo   - install what is missing, start chain + store, deploy, open both apps"
	@echo "make test   - install what is missing (incl. chromium) and run every test"
	@echo "make lint   - ruff"

$(STAMPS):
	mkdir -p $(STAMPS)

# Python: a venv with every pinned package, then the project itself (editable).
$(STAMPS)/python: requirements.txt pyproject.toml | $(STAMPS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -r requirements.txt
	$(PIP) install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

# Node tools: solc-js (pinned compiler), ganache, anvil. Exact versions from package-lock.json.
$(STAMPS)/node: package.json package-lock.json | $(STAMPS)
	command -v npm >/dev/null || ($(SUDO) apt-get update && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs npm)
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Debian chromium for the browser tests (Playwright drives it through executable_path).
chromium:
	@command -v chromium >/dev/null || ($(SUDO) apt-get update && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)

setup: $(STAMPS)/python $(STAMPS)/node

# Chain, contract, demo data and task, both apps; Ctrl-C stops what it started.
# e.g. make demo DEMO_ARGS="--kind anvil --port-base 6000"
demo: setup
	$(VENV)/bin/hessian demo $(DEMO_ARGS)

test: setup chromium
	$(VENV)/bin/ruff check .
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(STAMPS) build .pytest_cache .ruff_cache
