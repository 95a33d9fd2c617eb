"""Property-based fuzzing of numeric settings on the command line: ``python -m src.train KEY=VALUE``
with random values (negative, zero, huge, NaN, inf, text, lists, null) for the settings a user
types most. The property: the run works (tiny data, two steps) or stops with what the command line
prints as one short ``error:`` line; never a traceback, never a hang. Budgets: tests/fuzzing.py.

Each example composes the real config in this process and runs ``src.train.train`` as
``python -m src.train`` does (a Hydra composition error, e.g. a value the override grammar
refuses, is the one line ``src.utils.cli.hydra_entry`` prints); a few run as real processes.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys

import pytest
from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException
from hypothesis import event, example, given
from hypothesis import strategies as st
from omegaconf import open_dict

from tests.fuzzing import assert_one_line, fuzz, train_within_limit
from tests.helpers import REPO, compose_train_config

KEYS = [
    "trainer.max_epochs",
    "data.batch_size",
    "data.eval_batch_size",
    "data.max_length",
    "model.optimizer.lr",
    "model.optimizer.weight_decay",
    "model.embedding.dim",
    "model.embedding.dropout",
    "model.head.width",
    "data.validation_fraction",
    "trainer.gradient_clip_val",
    "trainer.limit_train_batches",
    "threads",
    "seed",
]
# Two training steps on 64 examples whatever the setting; the validation and test loops one batch each.
BASE = [
    "logger=none",
    "summarizer=mean",
    "data.source.n_train=64",
    "data.source.n_validation=32",
    "data.source.n_test=32",
    "model.embedding.dim=16",
    "model.head.width=16",
    "trainer.max_epochs=1",
    "trainer.max_steps=2",
    "trainer.limit_val_batches=1",
    "trainer.limit_test_batches=1",
    "~callbacks.progress_bar",
]
NUMBERS = st.one_of(
    st.sampled_from([0, 1, 2, 3, -1, -2, 7]),
    st.integers(-(2**70), 2**70),
    st.sampled_from([2**31, 2**31 - 1, 2**32, 2**63 - 1, 2**63, 2**64, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 0.5, 1.0, 1.5, 0.999999, 1e-300, 5e-324, 1e300]),
)
TEXTS = st.sampled_from(
    [
        "nan",
        "inf",
        "-inf",
        "NaN",
        "abc",
        "''",
        "null",
        "true",
        "false",
        "[1,2]",
        "{a: 1}",
        "1e3",
        "1_000",
        "0x10",
        "' 3'",
        "${seed}",
        "1 2",
        "'1.5'",
    ]
)  # as typed: the override grammar reads them (nan and inf are floats, null is None, [..] a list)


COMMAND_LINE = (ConfigCompositionException, MissingConfigException, OverrideParseException)  # src.utils.cli.hydra_entry


def value_text(value) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return str(value) if not isinstance(value, str) else value


def run(overrides: list[str], folder):
    """``python -m src.train *BASE *overrides``, in this process: its results, or the exception."""
    cfg = compose_train_config([*BASE, *overrides], folder)
    with open_dict(cfg):
        del cfg["hydra"]
    return train_within_limit(cfg)


def check(overrides: list[str], folder) -> None:
    try:
        results = run(overrides, folder)
    except COMMAND_LINE:  # hydra_entry prints these as one line (a value the grammar refuses)
        event("command line")
        return
    except Exception as exc:  # noqa: BLE001  (the property is about what it is)
        event(f"error: {assert_one_line(exc)[:50]}")
        return
    assert results["status"] == "ok" and 0 <= results["test/acc"] <= 1, results
    event("ran")


SETTINGS = st.lists(
    st.tuples(st.sampled_from(KEYS), st.one_of(NUMBERS, NUMBERS, TEXTS)),
    min_size=1,
    max_size=2,
    unique_by=lambda kv: kv[0],
)


@fuzz(ci=25, cost=2)  # each example may train: reported as found, not shrunk
@given(settings=SETTINGS)
@example(settings=[("seed", 2**32)])
@example(settings=[("model.embedding.dim", 2**40)])
@example(settings=[("threads", 2**31 - 1)])
def test_numeric_settings_run_or_fail_in_one_line(settings, tmp_path_factory):
    check([f"{key}={value_text(value)}" for key, value in settings], tmp_path_factory.mktemp("run"))


@pytest.mark.slow
@pytest.mark.parametrize(
    "setting",
    [
        "trainer.max_epochs=nan",
        "data.batch_size=-3",
        "model.embedding.dim=abc",
        "data.validation_fraction=inf",
        "seed=-1",
    ],
)
def test_as_a_real_process_a_bad_number_is_one_line(setting, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "src.train", *BASE, setting, f"hydra.run.dir={tmp_path}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert proc.returncode == 2 and len(errors) == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert setting.split("=")[0] in errors[0], errors


@pytest.mark.parametrize(
    "setting,line",
    [
        ("seed=4294967296", "seed must be an integer in [0, 4294967295], got 4294967296"),
        (f"threads={2**31 - 1}", f"threads must be at most the {os.cpu_count()} CPU cores, got {2**31 - 1}"),
        ("model.embedding.dim=1099511627776", "the model is too large to build (model.embedding.dim=1099511627776, "),
        (f"model.embedding.dim={2**64}", "the model is too large to build"),
        ("model.embedding.dim='1.5'", "model.embedding.dim must be a positive integer, got '1.5'"),
        ("model.embedding.dim=1.5", "model.embedding.dim must be a positive integer, got 1.5"),
        ("seed=null", "seed=None must be an integer >= 0"),
        ("data.source.n_train=-5", "n_train=-5 must be an integer >= "),
    ],
    ids=[
        "seed_above_numpys",
        "threads_above_the_cores",
        "dim_too_large_to_allocate",
        "dim_above_int64",
        "dim_text",
        "dim_fraction",
        "seed_null_for_the_built_in_data",
        "built_in_data_size",
    ],
)
def test_fuzz_findings_are_one_line(setting, line, tmp_path):
    """Fuzz findings: a seed above 2**32 - 1 was Lightning's ValueError traceback; threads=2**31-1
    made libgomp abort the process (exit status 1, no error line); an embedding too large to allocate
    or to count in 64 bits was torch's RuntimeError/TypeError traceback; model.embedding.dim='1.5' was
    int()'s ValueError traceback (and 1.5 silently became 1); a bad setting of the built-in data
    (seed=null, data.source.n_train=-5) was the generator's ValueError traceback."""
    with pytest.raises(Exception) as error:  # which exception it is, assert_one_line checks
        run([setting], tmp_path)
    assert line in assert_one_line(error.value)
