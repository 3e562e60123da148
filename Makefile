# Two commands for a fresh machine:  make run   and   make test
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8000
# make test's pytest workers (pytest-xdist; a test module stays on one worker); TEST_WORKERS=0: one process
TEST_WORKERS ?= 2
HOST ?= 127.0.0.1

.PHONY: run demo test test-slow install lint

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,spark]'
	@touch $(STAMP)

install: $(STAMP)

## Start the web platform with the demo county loaded (prints the address and demo accounts); make run PORT=8001
run: $(STAMP)
	$(VENV)/bin/yigongti serve --host $(HOST) --port $(PORT)

## Generate the demo county (Pingwu-like) and run the year on it.
demo: $(STAMP)
	$(VENV)/bin/yigongti demo --out demo-county

## The gates: ruff (120 columns), mypy --strict, the import contracts of the architecture.
lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(VENV)/bin/mypy src
	$(VENV)/bin/lint-imports

## Set up the machine (Java for Spark, PostgreSQL, Chromium, axe-core from npm), check the gates and run the test suite.
test: lint
	@bash scripts/services.sh
	$(PY) -m pytest -m 'not slow' -n $(TEST_WORKERS) --dist loadfile

test-slow: $(STAMP)
	@bash scripts/services.sh
	$(PY) -m pytest -m slow
