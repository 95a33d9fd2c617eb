"""``python -m src.report.protocols``: a ranking compared between two protocols of one set (CR fixed split
against 10-fold, SST sentences against phrases) on summaries whose answer is known; bad input is one line."""

from __future__ import annotations

import pandas as pd
import pytest

from src.report.protocols import compare_protocols, main


def _summary(path, scores: dict[str, float], data: str | None = None):
    frame = pd.DataFrame({"variant": list(scores), "summarizer": list(scores), "score": list(scores.values())})
    if data is not None:
        frame.insert(0, "data", data)
    frame.to_csv(path, index=False)
    return path


A = {"mean": 0.78, "lstm_h": 0.76, "cnn": 0.75, "rnn": 0.70}


def test_the_same_order_moves_nothing_and_a_reversed_one_is_minus_one():
    a = pd.Series(A)
    same = compare_protocols(a, a + 0.02)
    assert same.kendall_tau == pytest.approx(1.0) and same.spearman_rho == pytest.approx(1.0)
    assert (same.table["rank_move"] == 0).all()
    assert same.mean_shift == pytest.approx(2.0) and same.mean_shift_ci == pytest.approx(0.0, abs=1e-9)
    reversed_ = compare_protocols(a, pd.Series(dict(zip(A, reversed(list(A.values()))))))
    assert reversed_.kendall_tau == pytest.approx(-1.0)
    moves = reversed_.table.set_index("variant")["rank_move"]
    assert moves["mean"] == -3 and moves["rnn"] == 3  # first to last, last to first
    assert reversed_.mean_shift == pytest.approx(0.0, abs=1e-9)


def test_only_the_shared_methods_are_compared_and_a_dataset_is_picked_from_a_cross_set_summary(tmp_path, capsys):
    both = pd.concat(
        [
            pd.read_csv(_summary(tmp_path / "x.csv", A, data="mr")),
            pd.read_csv(_summary(tmp_path / "y.csv", {**A, "mean": 0.60}, data="cr")),
        ]
    )
    both.to_csv(tmp_path / "summary.csv", index=False)
    cv = _summary(tmp_path / "cv.csv", {"mean": 0.77, "lstm_h": 0.78, "cnn": 0.74, "rnn": 0.71, "attention": 0.9})
    out = tmp_path / "shift.csv"
    assert main([f"{tmp_path / 'summary.csv'}:cr", str(cv), "--names", "fixed,cv10", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "| method | fixed % | rank fixed | cv10 % | rank cv10 | rank move | cv10 - fixed (points) |" in text
    assert "| mean | 60.0 | 4 | 77.0 | 2 | +2 | +17.0 |" in text  # cr's mean, not mr's
    assert "attention" not in text and text.count("\n| ") == 4  # the 4 shared methods
    assert "4 methods." in text and "the largest move: mean 4 -> 2" in text
    assert list(pd.read_csv(out)["variant"]) == ["lstm_h", "cnn", "rnn", "mean"]


@pytest.mark.parametrize(
    "args, expected",
    [
        (["{a}"], "give two summaries, got 1"),
        (["{a}", "{tmp}/absent.csv"], "no such file:"),
        (["{cross}", "{a}"], "holds cr, mr; name one as"),
        (["{cross}:sst2", "{a}"], "no dataset 'sst2' (it holds cr, mr)"),
        (["{a}:mr", "{a}"], "has no data column, so no dataset 'mr' to take"),
        (["{a}", "{other}"], "no score, variant column (not a report's summary.csv)"),
        (["{a}", "{few}"], "share 2 method(s) with a score; a ranking needs at least 3"),
        (["{a}", "{a}", "--names", "one"], "--names takes two names, A,B; got 'one'"),
        (["{a}", "{a}", "--out"], "--out takes a file name"),
    ],
)
def test_bad_input_is_one_line(tmp_path, capsys, args, expected):
    paths = {
        "a": _summary(tmp_path / "a.csv", A),
        "few": _summary(tmp_path / "few.csv", {"mean": 0.7, "rnn": 0.6}),
        "tmp": tmp_path,
    }
    pd.concat([pd.read_csv(_summary(tmp_path / f"{d}.csv", A, data=d)) for d in ("mr", "cr")]).to_csv(
        tmp_path / "cross.csv", index=False
    )
    paths["cross"] = tmp_path / "cross.csv"
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    paths["other"] = tmp_path / "other.csv"
    with pytest.raises(SystemExit) as exit_info:
        main([arg.format(**paths) for arg in args])
    assert exit_info.value.code != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and expected in err and "Traceback" not in err
