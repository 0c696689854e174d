# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install demo test lint bench dev postgres-up clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml setup.cfg
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: install
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m analytics_assets_tests.demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest

# The benchmark at full volume (several minutes); BENCHMARKS.md records a run.
bench: install
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m analytics_assets_tests.bench

dev: install
	mkdir -p .dagster_home
	test -f .dagster_home/dagster.yaml || printf 'telemetry:\n  enabled: false\n' > .dagster_home/dagster.yaml
	DAGSTER_HOME="$(CURDIR)/.dagster_home" PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dagster dev

# Install (Debian's package) and start PostgreSQL on loopback for the tests; needs root.
# Then: export ANALYTICS_TEST_POSTGRES_DSN=postgresql://analytics:analytics@127.0.0.1:5432/analytics
postgres-up:
	bash scripts/postgres-up.sh

clean:
	rm -rf $(VENV) .demo .dagster_home .pytest_cache .ruff_cache
