# GreenLadder — `make run` starts the platform, `make test` runs the tests. Both set up first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test test-unit test-stack fuzz bench proto clean

$(STAMP): requirements.lock pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.lock
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m deploy.local.launch

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

test-unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit tests/service

test-stack: $(STAMP)
	$(BIN)/python -m pytest -q tests/integration tests/e2e $(PYTEST_ARGS)

# schemathesis over the whole API as five roles, 0 responses 5xx (part of test and test-stack)
fuzz: $(STAMP)
	$(BIN)/python -m pytest -q tests/e2e/test_fuzz_api.py $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.evaluation

proto: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m services.kernel.protogen

clean:
	rm -rf var

# New migration revision for one service: make migration SERVICE=registry MSG="add x"
migration: $(STAMP)
	rm -f var/migration-scratch.db && mkdir -p var
	$(BIN)/alembic -c services/$(SERVICE)/migrations/alembic.ini upgrade head
	$(BIN)/alembic -c services/$(SERVICE)/migrations/alembic.ini revision --autogenerate -m "$(MSG)"
