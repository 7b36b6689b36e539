# The README's two commands: `make demo` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# CPU torch: here it comes from local disk; elsewhere add
#   TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu"
TORCH ?= torch==2.13.0
TORCH_PIP_ARGS ?=
EXTRAS ?= dev,lm,offline-models,scale
STAMP := $(VENV)/.speechlab-installed

.PHONY: install demo test lint format bench notebooks clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(TORCH_PIP_ARGS) "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	$(BIN)/python -m pip install --quiet --no-deps "pyctcdecode==0.5.0"
	touch $(STAMP)

install: $(STAMP)

## Set up, assemble the offline models, self-check (Kokoro speaks, Whisper listens), then run
## the tour notebook headless (papermill): runs/<timestamp>-00_tour/ with report.html.
demo: install
	$(BIN)/speechlab models fetch --all
	$(BIN)/speechlab selfcheck --out runs/selfcheck
	$(BIN)/speechlab run 00_tour --runs-dir runs
	@echo "Open it live: $(BIN)/jupyter lab notebooks/00_tour.ipynb"

## Run every notebook headless with its offline defaults (reports in runs/).
notebooks: install
	$(BIN)/speechlab models fetch --all
	for nb in notebooks/0*.ipynb; do $(BIN)/speechlab run $$nb || exit 1; done

## Set up, lint, and run the whole test suite (real-weight tests included).
test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Run every benchmark (resumable; results in benchmarks/results/).
bench: install
	for b in benchmarks/*_bench.py benchmarks/eval_report.py benchmarks/kokoro_import.py; do \
		$(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build dist
