"""Fixtures and test-session settings; shared helpers live in tests/helpers.py."""

from __future__ import annotations

import os

import pytest
import torch

from tests.helpers import compose_train_config

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture
def train_config(tmp_path):
    def make(*overrides: str):
        return compose_train_config(list(overrides), tmp_path)

    return make


@pytest.fixture(autouse=True)
def _ieee_floats_after_each_test():
    """A command run in this process (src.train, src.baseline) flushes subnormal floats to zero for
    the whole thread (flush_denormal); a later test would inherit it, and hypothesis refuses to
    generate floats then ("can't represent subnormal floats"). Each test ends with IEEE floats."""
    yield
    import torch

    torch.set_flush_denormal(False)


@pytest.fixture(autouse=True)
def _no_inherited_wandb_service():
    """wandb.init in this process sets WANDB_SERVICE; a training subprocess started by a later test
    would inherit it and register its runs with this process's W&B service, which still holds them
    after the subprocess is killed ("run ID ... is in use" on resume). Each test starts without it."""
    os.environ.pop("WANDB_SERVICE", None)
    yield
    os.environ.pop("WANDB_SERVICE", None)


def pytest_addoption(parser):
    parser.addoption(
        "--fuzz-examples",
        type=int,
        default=None,
        help="examples per property-based fuzz test (tests/fuzzing.py; default: $SEQ2VEC_FUZZ_EXAMPLES, "
        "else each test's CI budget)",
    )


def pytest_configure(config):
    from tests import fuzzing

    fuzzing.BUDGET["examples"] = config.getoption("--fuzz-examples")
