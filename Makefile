# The two commands of the README: `make serve` and `make test`.
# Both create a virtual environment in .venv with the interpreter named by PYTHON.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: serve test install install-dev bench browser ui-vendor screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install -q -e .

install-dev: $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'

serve: install
	$(BIN)/headrace serve

# The browser tests (tests/web) drive Debian's Chromium through Playwright; install it when
# it is missing. Without it the browser tests fail (HEADRACE_SKIP_BROWSER_TESTS=1 skips them).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Chromium for the browser tests (apt-get install chromium)"; \
	    $(SUDO) apt-get update -q && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends chromium; \
	  else \
	    echo "No chromium and no apt-get: install Chromium, or set HEADRACE_SKIP_BROWSER_TESTS=1."; \
	  fi; }

test: install-dev browser
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src
	$(BIN)/python -m pytest

bench: install-dev
	$(BIN)/python bench/runtime.py
	$(BIN)/python bench/pipeline.py

# Rebuild the pre-bundled CodeMirror and Preact under src/headrace/web/static/vendor/ from
# web/package-lock.json (needs Node.js and npm; only when changing web/package.json).
ui-vendor:
	cd web && npm ci --no-audit --no-fund && npm run build

# Rewrite the README's screenshots under docs/screenshots/ from the browser tests.
screenshots: install-dev browser
	HEADRACE_SCREENSHOTS=1 $(BIN)/python -m pytest tests/web -q
