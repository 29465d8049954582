# The two commands of the README: `make run` and `make test`. Both set up what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test bench lint catalogs

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

## run: the engine with its web page and HTTP API on the embedded SQLite file, demo data in
run: $(BIN)/.installed
	$(BIN)/recovery serve --demo --port $(PORT)

## test: the whole suite (SQLite always; PostgreSQL and the browser when available)
test: $(BIN)/.installed
	$(BIN)/pytest

## bench: every figure beside its floor (python -m benchmarks --quick; --full for 1M incidents)
bench: $(BIN)/.installed
	$(BIN)/python -m benchmarks $(BENCH)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	@tmp=$$(mktemp -d) && export RECOVERY_DB=sqlite:///$$tmp/check.db && \
	  $(BIN)/alembic upgrade head && $(BIN)/alembic check && rm -rf $$tmp

LOCALES_DIR := recovery/http/web/locales

## catalogs: the staff pages' words extracted again and merged into every language's .po
## (then translate the new, empty msgstr entries: the tests name any left empty)
catalogs: $(BIN)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k say -k N_ --no-location --sort-output \
	  --project recovery -o $(LOCALES_DIR)/messages.pot .
	$(BIN)/pybabel update -i $(LOCALES_DIR)/messages.pot -d $(LOCALES_DIR) \
	  --no-fuzzy-matching --ignore-obsolete --no-wrap
