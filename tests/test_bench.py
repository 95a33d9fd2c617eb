"""The speed benchmark (src/bench/steps.py and its measurement modules) with tiny sizes: its keys, and that
its numbers add up.

Correctness only; no timing is asserted (timings belong in docs/performance.md, not in tests).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from src.bench import config, limit, padding, startup
from src.bench import steps as bench
from src.bench import table as bench_table
from src.bench.ratios import check_targets, ci_width, paired_ratio
from src.utils import precision
from src.utils.precision import onednn_has_bf16

TINY_RUN = [
    "--summarizers",
    "mean,lstm_hc,avg_ch",
    "--data-dir",
    "none",
    "--embedding-dim",
    "8",
    "--hidden-size",
    "8",
    "--batch-size",
    "16",
    "--batches",
    "2",
    "--rounds",
    "2",
    "--warmup",
    "0",
    "--epoch-batches",
    "3",
    "--lightning-repeats",
    "2",
    "--max-rounds",
    "3",
    "--device",
    "cpu",
    "--skip-startup",
    "--bf16-ratio",  # on any CPU whose oneDNN has bf16 (emulated where not native); AVX2-only CPUs have none
    "on" if onednn_has_bf16() else "off",
    # Hydra overrides: the built-in dataset, small
    "data.source.n_train=120",
    "data.source.n_validation=40",
    "data.source.n_test=40",
    "model.head.width=8",
]


@pytest.fixture(scope="module")
def tiny_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    try:
        bench.main([*TINY_RUN, "--out", str(out)])
    finally:  # the benchmark sets these process-wide, as training does
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)
    return json.loads(out.read_text()), out


@pytest.mark.slow
def test_bench_writes_every_key_of_the_issue(tiny_results):
    results, _ = tiny_results
    assert set(results["summarizers"]) == {"mean", "lstm_hc", "avg_ch"}
    bf16_keys = {"bf16_step_ms", "bf16_over_fp32", "bf16_over_fp32_ci95"} if onednn_has_bf16() else set()
    for name, row in results["summarizers"].items():
        assert set(row) == {"step_ms", "tokens_per_s", "optimizer_ms", "optimizer_share", *bf16_keys}, name
        assert row["step_ms"] > 0 and row["tokens_per_s"] > 0 and 0 < row["optimizer_ms"]
        if bf16_keys:
            assert row["bf16_over_fp32"] == results["bf16_over_fp32"][name] > 0
    # the machine a figure came from: its CPU model and whether it multiplies bf16 natively
    assert results["cpu"]["model"] and isinstance(results["cpu"]["bf16_flags"], list)
    for key in (
        "avg_ch_over_lstm_hc",
        "lightning_over_plain",
        "padding_efficiency_bucketed",
        "padding_efficiency_random",
        "lstm_gflops",
        "limit_gflops",
        "limit_source",
        "lstm_over_limit",
        "device",
        "torch",
    ):
        assert results.get(key) is not None, key
    assert results["torch"] == torch.__version__
    assert results["device"].startswith("cpu: ")
    assert results["data"].startswith("order_sentiment")  # --data-dir none: the default dataset


@pytest.mark.slow
def test_bench_numbers_are_consistent(tiny_results):
    results, _ = tiny_results
    rows = results["summarizers"]
    rounds = results["step_ms_per_round"]
    pairs = results["avg_ch_over_lstm_hc_pairs"]
    assert 2 <= pairs <= 3 and len(rounds["avg_ch"]) == len(rounds["lstm_hc"]) == pairs  # --rounds 2, --max-rounds 3
    paired = [a / b for a, b in zip(rounds["avg_ch"], rounds["lstm_hc"])]
    assert results["avg_ch_over_lstm_hc"] == pytest.approx(float(np.median(paired)), rel=1e-3)
    low, high = results["avg_ch_over_lstm_hc_ci95"]
    assert low <= float(np.mean(paired)) <= high
    # tokens/s and step time describe the same rounds: tokens = rate * time
    for row in rows.values():
        seconds = row["step_ms"] * results["timed_batches"] / 1e3
        assert row["tokens_per_s"] * seconds == pytest.approx(results["timed_tokens"], rel=1e-3)
    assert 2 <= results["lightning_over_plain_pairs"] <= 3
    low, high = results["lightning_over_plain_ci95"]
    if results["lightning_over_plain_pairs"] == 2:  # the median of two is their mean, inside its interval
        assert low <= results["lightning_over_plain"] <= high
    assert results["lightning_epoch_batches"] == 3
    for key in ("avg_ch_over_lstm_hc", "lightning_over_plain"):  # a wide interval is said, not implied
        low, high = results[f"{key}_ci95"]
        assert results[f"{key}_ci95_narrow"] == (high - low <= 0.05)
    assert results["ci_width"] == 0.05  # --ci-width's default
    assert 0 < results["padding_efficiency_random"] <= results["padding_efficiency_bucketed"] <= 1
    assert results["lstm_over_limit"] == pytest.approx(results["lstm_gflops"] / results["limit_gflops"], rel=1e-3)
    candidates = dict(results["routes_gflops"])
    if results.get("fma_peak"):
        candidates["fma_peak"] = results["fma_peak"]["gflops"]
    assert results["limit_gflops"] == pytest.approx(max(candidates.values()), rel=1e-3)
    assert candidates[results["limit_source"]] == pytest.approx(results["limit_gflops"], rel=1e-3)
    assert {"matmul_1024", "linear_input_projection", "linear_step_gates"} <= candidates.keys()
    for row in rows.values():
        assert row["optimizer_share"] == pytest.approx(row["optimizer_ms"] / row["step_ms"], rel=1e-3)
    assert results["targets_met"]["avg_ch_over_lstm_hc"] == (results["avg_ch_over_lstm_hc"] <= 1.15)


@pytest.mark.slow
def test_bench_table_names_every_summarizer_and_target(tiny_results, capsys):
    results, out = tiny_results
    table = bench_table.format_table(results)
    for name in results["summarizers"]:
        assert name in table
    assert "avg_ch_over_lstm_hc" in table and "target <= 1.15" in table and "95% CI" in table
    assert f"bounded by {results['limit_source']}" in table and "optimizer_ms" in table
    for key in ("avg_ch_over_lstm_hc", "lightning_over_plain"):
        line = next(line for line in table.splitlines() if line.startswith(key))
        assert ("wider than the 0.05 asked for" in line) == (not results[f"{key}_ci95_narrow"])
    assert json.loads(out.read_text()) == results


class _Split:
    def __init__(self, lengths):
        self.lengths = np.asarray(lengths)


class _Data:
    def __init__(self, lengths, seed=0):
        self.splits, self.seed = {"train": _Split(lengths)}, seed


def test_padding_efficiency_of_two_length_groups():
    # 64 sentences of length 2 and 64 of length 10: bucketed batches of 64 are uniform (no padding);
    # random batches almost surely each hold a 10, so every slot row is 10 long.
    lengths = [2] * 64 + [10] * 64
    out = padding.padding_efficiencies(_Data(lengths), batch_size=64)
    assert out["padding_efficiency_bucketed"] == 1.0
    assert out["padding_efficiency_random"] == pytest.approx((64 * 2 + 64 * 10) / (128 * 10))


def test_lstm_flops_count_padded_slots_forward_and_backward():
    batches = [{"input_ids": torch.zeros(2, 3)}, {"input_ids": torch.zeros(1, 5)}]
    hidden, inputs = 4, 3
    forward = 2 * 11 * 4 * hidden * (inputs + hidden)  # 11 padded slots, input and recurrent matmuls
    assert limit.lstm_matmul_flops(batches, inputs, hidden) == 3 * forward


def test_targets_are_checked_at_their_bounds():
    met = check_targets(
        {
            "avg_ch_over_lstm_hc": 1.15,
            "lightning_over_plain": 1.0500001,
            "padding_efficiency_bucketed": 0.9,
            "lstm_over_limit": 1.01,
            "train_startup_s": None,
        }
    )
    assert met == {
        "avg_ch_over_lstm_hc": True,
        "lightning_over_plain": False,
        "padding_efficiency_bucketed": True,
        "lstm_over_limit": False,
    }


def test_a_paired_ratio_is_the_median_with_the_t_interval_of_the_mean():
    from scipy import stats

    ratios = np.array([1.10, 1.20, 1.15, 1.12])
    out = paired_ratio(list(ratios * 2.0), [2.0] * 4)
    assert out["ratio"] == pytest.approx(1.135) and out["pairs"] == 4
    half = stats.t.ppf(0.975, 3) * ratios.std(ddof=1) / 2
    assert out["ci95"] == pytest.approx([ratios.mean() - half, ratios.mean() + half])
    assert ci_width(out) == pytest.approx(2 * half)
    assert paired_ratio([3.0], [2.0]) == {"ratio": 1.5, "ci95": None, "pairs": 1}


def test_the_fma_peak_counts_lanes_units_cores_and_clock(monkeypatch):
    from src.bench import ceiling
    from src.bench.ceiling import fma_peak_gflops

    monkeypatch.setattr(ceiling.os, "cpu_count", lambda: 4)
    avx512 = fma_peak_gflops(2, flags={"avx512f", "avx2", "fma"}, clock_ghz=3.0)
    assert avx512["gflops"] == pytest.approx(16 * 2 * 2 * 2 * 3.0)  # lanes x FMA x units x cores x GHz
    assert fma_peak_gflops(8, flags={"avx512f"}, clock_ghz=3.0)["cores"] == 4  # threads beyond the cores add nothing
    assert fma_peak_gflops(1, flags={"avx2", "fma"}, clock_ghz=2.0)["gflops"] == pytest.approx(8 * 2 * 2 * 2.0)
    assert fma_peak_gflops(1, flags={"sse4_2"}, clock_ghz=2.0) is None  # unknown vector unit: no claim
    monkeypatch.setattr(ceiling, "cpu_clock_ghz", lambda: None)  # no clock to read: no claim either
    assert fma_peak_gflops(1, flags={"avx512f"}) is None


def test_runs_in_processes_report_each_ratio_as_the_median_over_runs(tmp_path, monkeypatch):
    values = iter([1.10, 1.30, 1.05])

    def fake_bench(command, **kwargs):
        out = Path(command[command.index("--out") + 1])
        assert "--runs" not in command and "3" not in command[3:]  # each run is one plain benchmark
        ratio = next(values)
        row = {"step_ms": 10 * ratio, "tokens_per_s": 1.0, "optimizer_ms": 2.0, "optimizer_share": 0.2}
        out.write_text(
            json.dumps(
                {
                    "avg_ch_over_lstm_hc": ratio,
                    "avg_ch_over_lstm_hc_ci95": [ratio - 0.01, ratio + 0.01],
                    "avg_ch_over_lstm_hc_ci95_narrow": ratio < 1.2,
                    "summarizers": {"avg_ch": row},
                    "device": "cpu: test",
                    "torch": torch.__version__,
                }
            )
        )

    monkeypatch.setattr(bench.subprocess, "run", fake_bench)
    argv = ["--runs", "3", "--summarizers", "avg_ch"]
    summary = bench.run_in_processes(argv, bench.parse_args([*argv, "--out", str(tmp_path / "b.json")]))
    assert summary["avg_ch_over_lstm_hc"] == 1.10
    assert summary["avg_ch_over_lstm_hc_per_run"] == [1.10, 1.30, 1.05]
    assert len(summary["avg_ch_over_lstm_hc_ci95_per_run"]) == 3
    assert summary["avg_ch_over_lstm_hc_ci95_narrow_per_run"] == [True, False, True]
    assert summary["step_ms"]["avg_ch"] == pytest.approx(11.0)
    assert summary["targets_met"] == {"avg_ch_over_lstm_hc": True}
    assert [Path(p).name for p in summary["runs"]] == ["b.run1.json", "b.run2.json", "b.run3.json"]


def test_by_default_every_registered_summarizer_is_timed_references_included():
    from src.summarizers.registry import summarizer_names

    assert bench.parse_args([]).summarizers == summarizer_names()
    assert {"max", "swem_hier", "bilstm_max", "attention", "cnn"} <= set(bench.parse_args([]).summarizers)


def test_bad_arguments_fail_in_one_line(capsys):
    with pytest.raises(SystemExit):
        bench.parse_args(["--summarizers", "mean,lstm_x"])
    assert "no conf/summarizer/lstm_x.yaml" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench.parse_args(["--rounds", "0"])
    assert "--rounds must be >= 1" in capsys.readouterr().err


def test_json_values_are_finite_or_null():
    cleaned = bench_table.finite({"a": float("nan"), "b": {"c": float("inf"), "d": 1.23456789}, "e": "x"})
    assert cleaned == {"a": None, "b": {"c": None, "d": 1.23457}, "e": "x"}
    assert not any(isinstance(v, float) and not math.isfinite(v) for v in cleaned.values())


@pytest.mark.slow
def test_train_startup_is_measured_at_the_first_training_step(tmp_path):
    """``python -m src.train`` really runs up to its first training step (the callback ends it)."""
    args = bench.parse_args(
        [
            "--data-dir",
            "none",
            "--embedding-dim",
            "8",
            "--hidden-size",
            "8",
            "data.source.n_train=120",
            "data.source.n_validation=40",
            "data.source.n_test=40",
        ]
    )
    args.data, _ = config.data_overrides(args.data_dir)
    out = startup.measure_startup(args, torch.device("cpu"), tmp_path)
    assert (tmp_path / "first_step.txt").is_file()
    assert 0 < out["train_startup_s"] < 600
    assert 0 < out["import_s"] < 600
    assert not (tmp_path / "startup" / "results.json").exists()  # it stopped before finishing
    assert os.environ.get(startup._START_TIME) is None  # the parent's environment is untouched


def test_bf16_without_native_support_is_refused_in_one_line(monkeypatch, capsys):
    monkeypatch.setattr(bench, "resolve_precision", lambda *a, **k: "32-true")  # a CPU without avx512_bf16/AMX
    with pytest.raises(SystemExit) as stop:
        bench.main([*TINY_RUN, "--precision", "bf16"])
    assert stop.value.code != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no native bf16" in err[0], err


def test_bf16_ratio_on_a_cpu_whose_onednn_has_no_bf16_is_refused_in_one_line(monkeypatch, capsys):
    # An AVX2-only CPU (a Zen 3 AMD EPYC): nn.LSTM under bf16 autocast fails inside oneDNN there.
    monkeypatch.setattr(precision, "onednn_has_bf16", lambda: False)
    with pytest.raises(SystemExit) as stop:
        bench.main([*TINY_RUN[: TINY_RUN.index("--bf16-ratio")], "--bf16-ratio", "on", "--out", "unused.json"])
    assert stop.value.code != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--bf16-ratio on" in err[0] and "no bf16 in oneDNN" in err[0], err
