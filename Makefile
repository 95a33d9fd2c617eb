# Everything runs inside the repo's own virtual environment. `make` alone lists the targets.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
TORCH  ?= torch==2.13.0
ARGS   ?=

.DEFAULT_GOAL := help
.PHONY: help install lint format test test-fast train sweep bench clean

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

clean: ## Remove outputs/, wandb/ and the pytest cache
	rm -rf outputs/ .pytest_cache wandb/
