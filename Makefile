# Everything runs inside the repo's own virtual environment.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
TORCH  ?= torch==2.13.0
ARGS   ?=

.PHONY: install test test-fast train sweep bench report clean

# torch goes in first and explicitly: the range in pyproject.toml then accepts it as installed,
# and pip never reaches for a multi-GB CUDA build. The stamp keeps a second run quick.
install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q "$(TORCH)"
	$(PIP) install -q -e '.[dev]'
	touch $@

test: install
	$(PY) -m pytest

test-fast: install
	$(PY) -m pytest -m "not slow"

train: install
	$(PY) -m src.train $(ARGS)

sweep: install
	$(PY) -m src.train -m summarizer=mean,rnn,lstm_h,lstm_c,lstm_hc,bilstm,avg_ch $(ARGS)

bench: install
	$(PY) -m src.bench $(ARGS)

clean:
	rm -rf outputs/ .pytest_cache wandb/
