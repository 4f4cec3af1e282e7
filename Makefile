# One command to test, one to run; both create .venv and install on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test lint typecheck pytest run bench package clean

$(STAMP): pyproject.toml
	@echo "== installing Python dependencies into $(VENV) (pyproject.toml changed; about a minute, needs PyPI)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,tiktoken,playground]'
	touch $(STAMP)

## make test: ruff, mypy (strict on bot/), pytest
test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check bot handlers tests scripts
	$(BIN)/ruff format --check bot handlers tests scripts

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

## make run: the bot locally. With Slack settings the real bot (Socket Mode with SLACK_APP_TOKEN, else
## HTTP on :3000); without them the playground, a local Slack in the browser (http://127.0.0.1:3000)
run: $(STAMP)
	$(BIN)/architect-bot run

## make bench: the benchmarks (print figures; nothing asserted); bench_coldstart: cold starts from the Lambda
## package (bytecode, read-only, no site-packages) beside the lean app's; bench_speed: issue 8's limits
bench: $(STAMP)
	$(BIN)/python scripts/bench_coldstart.py
	$(BIN)/python scripts/bench_speed.py
	$(BIN)/python scripts/bench_loader.py
	$(BIN)/python scripts/bench_store.py
	$(BIN)/python scripts/bench_prompt_fit.py
	$(BIN)/python scripts/bench_slack.py
	$(BIN)/python scripts/bench_tools.py
	$(BIN)/python scripts/bench_playground.py
	$(BIN)/python scripts/bench_record.py
	$(BIN)/python scripts/bench_agents_refresh.py

## make package: serverless packages for every stage + cfn-lint (needs npm; the first time, the network)
package: $(STAMP)
	bash scripts/package.sh

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .serverless node_modules
