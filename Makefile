# queue-service: `make run` starts the service, `make test` runs lint and every test.
# Both bootstrap their own tools from pinned versions: uv in .tools/, the locked
# dependencies (uv.lock) in .venv/. Only Python 3.11 and pip are needed.

PYTHON ?= python3.11
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))
# Playwright drives Debian's chromium (browser-tools): it never fetches a browser.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.DEFAULT_GOAL := help

help: ## Show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(UV):
	@command -v $(PYTHON) >/dev/null || (echo "$(PYTHON) is required" && exit 1)
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(BIN)/queue-service: $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --all-extras --python $(PYTHON)
	@touch $@

install: $(BIN)/queue-service ## Create .venv from uv.lock

run: install ## Run the service: migrate, then the API and a worker (embedded PostgreSQL when DATABASE_URL is unset)
	$(BIN)/queue-service dev

fmt: install ## Format and autofix
	$(BIN)/ruff format app workers bench tests clients/python
	$(BIN)/ruff check --fix app workers bench tests clients/python

lint: install ## ruff, mypy --strict, import-linter (the dependency rule)
	$(BIN)/ruff check app workers bench tests clients/python
	$(BIN)/ruff format --check app workers bench tests clients/python
	$(BIN)/mypy
	$(BIN)/mypy --strict clients/python/src
	$(BIN)/lint-imports

test-unit: install ## Unit tests (no database)
	$(BIN)/pytest tests/unit

test-integration: install ## Integration tests (real PostgreSQL)
	$(BIN)/pytest tests/integration

ops-tools: ## promtool, prometheus, amtool and alertmanager for tests/ops (Debian's packages, as root)
	@if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing Debian's prometheus package (promtool) for tests/ops"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; \
		else \
			echo "tests/ops need promtool and prometheus: install Debian's prometheus package (those tests fail without it)"; \
		fi; \
	fi
	@if ! command -v amtool >/dev/null || ! command -v prometheus-alertmanager >/dev/null; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing Debian's prometheus-alertmanager package (amtool) for tests/ops"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus-alertmanager >/dev/null; \
		else \
			echo "tests/ops need amtool and alertmanager: install Debian's prometheus-alertmanager package (those tests fail without it)"; \
		fi; \
	fi

browser-tools: ## Chromium for tests/browser (Debian's chromium package, as root)
	@if ! command -v chromium >/dev/null; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing Debian's chromium package for tests/browser"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
		else \
			echo "tests/browser need chromium: install Debian's chromium package (those tests fail without it)"; \
		fi; \
	fi

test: lint ops-tools browser-tools ## Lint, then every test (TEST_DATABASE_URL, else embedded PostgreSQL)
	$(BIN)/pytest

# Each benchmark's options go in BENCH_ARGS, e.g. make bench-drain BENCH_ARGS='--jobs 2000'.
BENCH_ARGS ?=

bench: install ## Enqueue benchmark against DATABASE_URL, with raw procrastinate in the same run
	$(BIN)/python -m bench enqueue $(BENCH_ARGS)

bench-drain: install ## Drain rate and enqueue-to-start latency against DATABASE_URL, vs raw procrastinate
	$(BIN)/python -m bench drain $(BENCH_ARGS)

bench-http: install ## POST /jobs from 50 connections for 10 s, API on a scratch database of DATABASE_URL's server
	$(BIN)/python -m bench http $(BENCH_ARGS)

bench-metrics: install ## The metrics endpoints over 30 days of history, against DATABASE_URL
	$(BIN)/python -m bench metrics $(BENCH_ARGS)

bench-overview: install ## queue.overview over a million finished jobs, against DATABASE_URL
	$(BIN)/python -m bench overview $(BENCH_ARGS)

bench-console: install ## The console's pages over HTTP over a million finished jobs, against DATABASE_URL
	$(BIN)/python -m bench console $(BENCH_ARGS)

bench-sql: install ## Claim cost per job by backlog, completion cost by batch, against DATABASE_URL
	$(BIN)/python -m bench sql $(BENCH_ARGS)

bench-providers: install ## send-email and send-sms through the gate to local fake providers, against DATABASE_URL
	$(BIN)/python -m bench providers $(BENCH_ARGS)

bench-keys: install ## A per-key limit with fair sharing (one burst key, 100 small keys) vs the plain drain, against DATABASE_URL
	$(BIN)/python -m bench keys $(BENCH_ARGS)

db-migrate: install ## Apply migrations to DATABASE_URL
	$(BIN)/queue-service migrate

docs: install ## Build the docs site into site/ (strict: a broken link or anchor fails)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

docs-serve: install ## Serve the docs site at http://127.0.0.1:8000, rebuilt on change
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --strict

.PHONY: docs docs-serve

clean: ## Remove the virtualenvs
	rm -rf $(VENV) $(TOOLS)

.PHONY: help install run fmt lint ops-tools browser-tools test-unit test-integration test bench bench-drain bench-http bench-metrics bench-overview bench-console bench-sql bench-providers bench-keys db-migrate clean
