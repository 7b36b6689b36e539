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

.PHONY: install demo test lint format bench bench-rerun notebooks clean

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

## Run every benchmark (resumable; results in benchmarks/results/). quant_bench collects
## Kokoro's rows from tts_bench and kokoro_import, so they run before it.
BENCHES := asr_bench runtime_bench tts_bench kokoro_import quant_bench stream_bench \
	scale_bench polish_g2p_bench eval_report
bench: install
	for b in $(BENCHES); do $(BIN)/python benchmarks/$$b.py || exit 1; done

## Rerun every benchmark into $(RERUN) (resumable: run it again to carry on) and judge every
## figure against the committed results: $(RERUN)/reproduction.md.
RERUN ?= benchmarks/rerun
bench-rerun: install
	SPEECHLAB_BENCH_RESULTS=$(abspath $(RERUN)) $(MAKE) bench
	$(BIN)/python benchmarks/compare_results.py benchmarks/results $(RERUN)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build dist
