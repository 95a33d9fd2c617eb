"""``python -m src.report.archive``: a report rebuilt from kept results.csv tables equals the report of
the sweeps themselves, whatever order and however many tables they came in; bad input is one line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from src.data.suite import SUITE
from src.report import write_report
from src.report.archive import main, read_rows
from tests.test_report_baselines import _sweep_with_baselines


def _tables(tmp_path):
    """A sweep over subj, cr, mr (in that order) with both baselines, reported; its results.csv split
    in two tables as two sweeps would have left them: the summarizers', the baselines'."""
    sweep = _sweep_with_baselines(tmp_path, datasets=(("subj", 0.1), ("cr", 0.02), ("mr", 0.0)))
    write_report(sweep)
    results = pd.read_csv(sweep / "results.csv")
    baseline = results["kind"].eq("baseline")
    summarizers, baselines = tmp_path / "summarizers.csv", tmp_path / "baselines.csv"
    results[~baseline].to_csv(summarizers, index=False)
    results[baseline].to_csv(baselines, index=False)
    return sweep, summarizers, baselines


def test_the_rebuilt_report_equals_the_sweeps_own_in_the_suites_order_of_sets(tmp_path, capsys):
    sweep, summarizers, baselines = _tables(tmp_path)
    out = tmp_path / "rebuilt"
    assert main([str(out), str(baselines), str(summarizers)]) == 0
    assert "report.md: 2 table(s)" in capsys.readouterr().out
    original = pd.read_csv(sweep / "matrix.csv").set_index("summarizer")
    rebuilt = pd.read_csv(out / "matrix.csv").set_index("summarizer")
    assert sorted(rebuilt.index) == sorted(original.index)
    pd.testing.assert_frame_equal(rebuilt.loc[original.index, original.columns], original)
    pd.testing.assert_frame_equal(
        pd.read_csv(out / "equivalence.csv").sort_values(["a", "b"], ignore_index=True),
        pd.read_csv(sweep / "equivalence.csv").sort_values(["a", "b"], ignore_index=True),
    )
    # columns in the classic suite's order (mr, cr, subj), not the order the tables or sweeps ran
    assert "| summarizer | mr accuracy % | cr accuracy % | subj accuracy % |" in (out / "report.md").read_text()
    # each job's results.json has the types src.train wrote: ints for seeds, the baseline's kind kept
    job = json.loads(next(out.glob("*_baselines_mr_fasttext")).joinpath("results.json").read_text())
    assert job["seed"] in (0, 1) and isinstance(job["seed"], int) and job["kind"] == "baseline"
    assert "variant" not in job and "score" not in job and "job" not in job


@pytest.mark.parametrize(
    "case, expected",
    [
        ("no_tables", "give an output folder and at least one results.csv"),
        ("missing_table", "no such file:"),
        ("not_results", "no 'summarizer' column (not a sweep's results.csv)"),
        ("no_data_column", "row 3: no 'data'"),
        ("used_out_dir", "already holds job folders; give an empty or new OUT_DIR"),
        ("bad_rope", "--rope takes a positive number of points, got -1"),
        ("no_data_value", "--data takes one or more set names"),
        ("absent_data", "--data sst2: no row of the tables has it (they hold mr)"),
    ],
)
def test_bad_input_is_one_line_naming_the_file_row_or_value(tmp_path, capsys, case, expected):
    table = tmp_path / "results.csv"
    table.write_text("summarizer,data,seed,test/acc,status\nmean,mr,0,0.7,ok\nrnn,mr,0,0.6,ok\n")
    out = tmp_path / "out"
    argv = {
        "no_tables": [str(out)],
        "missing_table": [str(out), str(tmp_path / "absent.csv")],
        "not_results": [str(out), str(tmp_path / "other.csv")],
        "no_data_column": [str(out), str(tmp_path / "partial.csv")],
        "used_out_dir": [str(out), str(table)],
        "bad_rope": [str(out), str(table), "--rope", "-1"],
        "no_data_value": [str(out), str(table), "--data"],
        "absent_data": [str(out), str(table), "--data", "sst2"],
    }[case]
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    (tmp_path / "partial.csv").write_text("summarizer,data,seed\nmean,mr,0\nrnn,,0\n")
    if case == "used_out_dir":
        (out / "0_old_job").mkdir(parents=True)
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and expected in err and "Traceback" not in err
    if case in ("not_results", "no_data_column"):
        assert str(tmp_path) in err  # names the file
    if case != "used_out_dir":
        assert not out.exists() or not any(p.is_dir() for p in out.iterdir())  # nothing half-written


def test_data_keeps_one_sets_rows_of_tables_that_hold_several(tmp_path, capsys):
    sweep, summarizers, baselines = _tables(tmp_path)
    out = tmp_path / "cr_only"
    assert main([str(out), str(summarizers), str(baselines), "--data", "cr"]) == 0
    jobs = [json.loads(p.read_text()) for p in out.glob("*/results.json")]
    assert len(jobs) == 10 and {job["data"] for job in jobs} == {"cr"}  # 5 methods x 2 seeds
    assert "Benchmark over" not in (out / "report.md").read_text()  # one set: the single-set report
    summary = pd.read_csv(out / "summary.csv").set_index("variant")
    original = pd.read_csv(sweep / "summary.csv")
    original = original[original["data"] == "cr"].set_index("variant")
    pd.testing.assert_series_equal(summary["score"], original.loc[summary.index, "score"])


def test_make_results_names_tables_that_hold_the_whole_readme_matrix():
    """The README's matrix is rebuilt by ``make results`` from the tables the Makefile names: each must
    be in docs/results and together they must hold 15 methods x 7 sets x 3 seeds, every job ok."""
    root = Path(__file__).resolve().parents[1]
    makefile = (root / "Makefile").read_text()
    names = re.search(r"SUITE_RESULTS := \$\(addprefix docs/results/,(.*?)\)\n", makefile, re.S).group(1)
    tables = [root / "docs" / "results" / n for n in names.replace("\\", " ").split()]
    assert len(tables) == 5 and all(t.is_file() for t in tables)
    rows = [row for t in tables for row in read_rows(t)]
    assert {row["status"] for row in rows} == {"ok"}
    cells = {(row["summarizer"], row["data"], row["seed"]) for row in rows}
    assert len(rows) == len(cells) == 15 * 7 * 3
    assert {row["data"] for row in rows} == set(SUITE)
    assert len({row["summarizer"] for row in rows}) == 15
