# Everything runs inside the repo's own virtual environment. `make` alone lists the targets.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
TORCH  ?= torch==2.13.0
ARGS   ?=

.DEFAULT_GOAL := help
.PHONY: help install lint format test test-fast train sweep bench results gpu-check clean

help: ## List the targets (this message)
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-10s %s\n", $$1, $$2}'

# torch goes in first and explicitly: the range in pyproject.toml then accepts it as installed,
# and pip never reaches for a multi-GB CUDA build. The stamp keeps a second run quick.
install: $(VENV)/.installed ## Create .venv: CPU torch first, then the project with its dev tools

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q "$(TORCH)"
	$(PIP) install -q -e '.[dev]'
	touch $@

lint: install ## ruff: lint errors and unformatted files fail (settings in pyproject.toml)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install ## ruff: apply the safe lint fixes, format every file, then list what is left to fix by hand
	$(VENV)/bin/ruff check --fix --exit-zero --quiet .
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check .

test: install ## The whole test suite, slow end-to-end runs included
	$(PY) -m pytest

test-fast: install ## The tests without the slow end-to-end runs
	$(PY) -m pytest -m "not slow"

train: install ## One training run: make train ARGS='summarizer=lstm_c seed=1'
	$(PY) -m src.train $(ARGS)

sweep: install ## The course's summarizers once each (experiment=compare, seed 0); ARGS go to every job
	$(PY) -m src.train -m experiment=compare hydra.sweeper.params.seed=0 $(ARGS)

bench: install ## Speed benchmark of every summarizer (src.bench)
	$(PY) -m src.bench $(ARGS)

# The per-job tables (results.csv) of the sweeps behind the README's matrix, the seven classic sets x
# 13 summarizers + 2 baselines x 3 seeds, run on different days and CPUs (docs/benchmark.md says which)
RESULTS_OUT ?= outputs/results_matrix
SUITE_RESULTS := $(addprefix docs/results/,course_4sets_fp32_amd.csv course_3newsets_fp32_amd.csv \
	refs_4sets_fp32_amd_zen3.csv refs_3newsets_fp32_amd.csv baselines_7sets.csv)

results: install ## Rebuild the README's 7-set matrix, CD diagram and equivalence from docs/results into RESULTS_OUT
	rm -rf $(RESULTS_OUT)
	$(PY) -m src.report.archive $(RESULTS_OUT) $(SUITE_RESULTS)

GPU_OUT ?= outputs/gpu
COURSE  := mean,rnn,lstm_h,lstm_c,lstm_hc,bilstm,avg_ch

# Device time is short: every GPU check of issue 15 in one go, each step run even when one before it
# failed, the failures listed at the end (exit status 1). Results: $(GPU_OUT)/*.json and tests.txt.
gpu-check: install ## On a CUDA machine: GPU tests, bench fp32 / bf16 / CUDA graphs, the seven-summarizer sweep sharing the GPU
	mkdir -p $(GPU_OUT)
	@failed=""; \
	step() { echo "== $$*"; "$$@" || failed="$$failed; $$*"; }; \
	step nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; \
	step sh -c '$(PY) -m pytest tests/test_gpu.py -rs -q > $(GPU_OUT)/tests.txt 2>&1; status=$$?; cat $(GPU_OUT)/tests.txt; exit $$status'; \
	step $(PY) -m src.bench --device cuda --out $(GPU_OUT)/bench_fp32.json; \
	step $(PY) -m src.bench --device cuda --precision bf16 --skip-startup --out $(GPU_OUT)/bench_bf16.json; \
	step $(PY) -m src.bench --device cuda --skip-startup --out $(GPU_OUT)/bench_graphs.json data.pad_to_multiple=8 model.compile=reduce-overhead; \
	step $(PY) -m src.bench.sweep --out $(GPU_OUT)/sweep_time.json -- summarizer=$(COURSE) trainer=gpu \
		hydra/launcher=joblib hydra.launcher.n_jobs=7 logger=none hydra.sweep.dir=$(GPU_OUT)/sweep; \
	if [ -n "$$failed" ]; then echo "failed:$$failed"; exit 1; fi

clean: ## Remove outputs/, wandb/ and the pytest cache
	rm -rf outputs/ .pytest_cache wandb/
