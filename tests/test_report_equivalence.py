"""The Bayesian comparison with a region of practical equivalence (issue 24 §5) on synthetic scores
whose answer is known, its plain sentences, its reproducibility, and its place in the report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from src.report import main, write_report
from src.report.equivalence import compare_pairs, probability_matrices, sentences, verdict
from tests.test_report_baselines import _sweep_with_baselines

SETS = [f"d{i}" for i in range(7)]


def _scores(rows: dict[str, list[float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, index=SETS).T


BASE = [0.70, 0.75, 0.80, 0.85, 0.90, 0.65, 0.78]


def test_identical_methods_are_equivalent_and_five_points_ahead_is_better():
    noise = np.array([0.001, -0.002, 0.0015, 0.0, -0.001, 0.002, -0.0005])  # a fifth of a point at most
    scores = _scores(
        {
            "a": BASE,
            "a_again": BASE,
            "a_noisy": list(np.array(BASE) + noise),
            "plus5": list(np.array(BASE) + 0.05),
        }
    )
    result = compare_pairs(scores)
    pairs = result.pairs.set_index(["a", "b"])
    assert pairs.loc[("a", "a_again"), "p_equivalent"] > 0.95
    assert pairs.loc[("a", "a_noisy"), "p_equivalent"] > 0.95
    assert pairs.loc[("a", "plus5"), "p_b_better"] > 0.95 and pairs.loc[("a", "plus5"), "p_a_better"] < 0.01
    assert pairs.loc[("a", "plus5"), "mean_diff"] == pytest.approx(-5.0)
    assert np.allclose(result.pairs[["p_a_better", "p_equivalent", "p_b_better"]].sum(axis=1), 1.0)
    verdicts = {(r["a"], r["b"]): verdict(r) for r in result.pairs.to_dict("records")}
    assert verdicts[("a", "plus5")] == "plus5 better" and verdicts[("a", "a_again")] == "equivalent"
    text = sentences(result)
    assert text[0].startswith("Practically equivalent (P(difference within ±1 point) > 0.95): a and a_again (")
    assert "a and a_noisy" in text[0] and "plus5" not in text[0]
    assert text[1].startswith("Practically different (P(better by more than 1 point) > 0.95): plus5 better than a (")
    better, same = probability_matrices(result)
    assert better.loc["plus5", "a"] == pairs.loc[("a", "plus5"), "p_b_better"]
    assert same.loc["plus5", "a"] == same.loc["a", "plus5"] and np.isnan(same.loc["a", "a"])


def test_the_rope_decides_what_counts_as_equivalent():
    scores = _scores({"a": BASE, "plus2": list(np.array(BASE) + 0.02)})
    assert compare_pairs(scores, rope=1).pairs.iloc[0]["p_b_better"] > 0.95
    wide = compare_pairs(scores, rope=5)
    assert wide.pairs.iloc[0]["p_equivalent"] > 0.95
    assert sentences(wide)[0].startswith("Practically equivalent (P(difference within ±5 points) > 0.95)")


def test_an_undecided_pair_is_said_so_and_the_draws_are_seeded():
    rng = np.random.default_rng(3)
    scores = _scores({"a": BASE, "b": list(np.array(BASE) + rng.normal(0.0, 0.02, len(BASE)))})
    first, again = compare_pairs(scores), compare_pairs(scores)
    pd.testing.assert_frame_equal(first.pairs, again.pairs)
    other = compare_pairs(scores, seed=1)
    assert not np.isclose(first.pairs.iloc[0]["p_equivalent"], other.pairs.iloc[0]["p_equivalent"])
    row = first.pairs.iloc[0]
    assert max(row["p_a_better"], row["p_equivalent"], row["p_b_better"]) < 0.95
    assert sentences(first) == [
        "No pair is practically equivalent (P(difference within ±1 point) > 0.95 for none).",
        "No pair differs by more than 1 point with probability above 0.95.",
        "The other 1 of 1 pairs are undecided: no probability above 0.95 with 7 datasets.",
    ]


def test_the_answer_does_not_depend_on_the_order_the_datasets_ran_in():
    """Sweeps run their sets in any order (and a report may join several); the seeded draws must not
    follow that order, or the same scores give another P."""
    rng = np.random.default_rng(5)
    scores = _scores({"a": BASE, "b": list(np.array(BASE) + rng.normal(0.0, 0.02, len(BASE)))})
    shuffled = scores[list(reversed(SETS))]
    pd.testing.assert_frame_equal(compare_pairs(scores).pairs, compare_pairs(shuffled).pairs)


def test_bad_input_to_the_comparison():
    with pytest.raises(ValueError, match="at least 3 datasets"):
        compare_pairs(_scores({"a": BASE, "b": BASE}).iloc[:, :2])
    with pytest.raises(ValueError, match="complete matrix"):
        compare_pairs(_scores({"a": BASE, "b": [np.nan, *BASE[1:]]}))


def test_the_report_has_the_comparison_its_table_csv_and_picture(tmp_path, capsys):
    sweep = _sweep_with_baselines(tmp_path)
    assert main([str(sweep), "--rope", "20"]) == 0  # fastText's 13 points over mean: within a rope of 20
    text = (sweep / "report.md").read_text()
    assert "## Practical equivalence (Bayesian signed-rank test)" in text
    assert "rope ±20 point of each dataset's metric" in text
    assert "| mean | fasttext (baseline) | -13.0 |" in text and "| equivalent |" in text
    assert "![pairwise probabilities of the Bayesian comparison](equivalence.png)" in text
    assert (sweep / "equivalence.png").stat().st_size > 10_000
    pairs = pd.read_csv(sweep / "equivalence.csv")
    assert len(pairs) == 10 and set(pairs["rope"]) == {20.0}  # 5 methods: 10 pairs
    assert list(pairs.columns[:5]) == ["a", "b", "p_a_better", "p_equivalent", "p_b_better"]
    # the default rope of 1 point: fastText 13 points ahead of mean on all three sets is better
    text = write_report(sweep, plots=False)
    assert "| mean | fasttext (baseline) | -13.0 | 0.000 |" in text and "| fasttext (baseline) better |" in text
    for bad in (["--rope", "0"], ["--rope", "x"], ["--rope"]):
        with pytest.raises(SystemExit) as exit_info:
            main([str(sweep), *bad])
        assert exit_info.value.code == 2
        assert "--rope takes a positive number of points" in capsys.readouterr().err


def test_two_datasets_get_no_comparison_and_say_why(tmp_path):
    sweep = _sweep_with_baselines(tmp_path, datasets=(("mr", 0.0), ("cr", 0.02)))
    text = write_report(sweep, plots=False)
    assert "No Bayesian comparison: only 2 datasets with a result for every method (the test needs at least 3" in text
    assert not (sweep / "equivalence.csv").exists()
