# Task runner.  `make main` and `make test` each do all set-up on a fresh machine first.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup lint test test-blas test-all main bench clean

setup:
	bash scripts/setup.sh

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

## The test command (CI runs this): lint, layering contract, every tier but `slow`.
test: lint
	$(PY) -m pytest -m "not slow" -q

## The fast tier again without lint (CI runs it under another OPENBLAS_CORETYPE).
test-blas: setup
	$(PY) -m pytest -m "not slow" -q

test-all: lint
	$(PY) -m pytest -q

## The main job: the default design-space study on SmolLM2-135M (results/default/report.md).
main: setup
	$(VENV)/bin/accel explore -o results/default

bench: setup
	$(PY) benchmarks/run_all.py

clean:
	rm -rf .cache build *.egg-info
