"""Sweep summary: one row per job from each job's results.json, as a markdown table.

``python -m src.report DIR`` and, automatically, at the end of every multirun (Hydra callback).
"""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

log = logging.getLogger(__name__)
SUMMARIZER_ORDER = ["mean", "rnn", "lstm_h", "lstm_c", "lstm_hc", "bilstm", "avg_ch"]


def load_results(sweep_dir: str | Path) -> list[dict]:
    rows = []
    for path in sorted(Path(sweep_dir).glob("*/results.json")):
        try:
            row = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            row = {"status": "failed", "error": f"unreadable {path.name}: {exc}"}
        row["job"] = path.parent.name
        rows.append(row)
    return rows


def _fmt(value: Any, pct: bool = False) -> str:
    if value is None:
        return "–"
    if pct:
        return f"{100 * value:.1f}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def markdown_table(rows: list[dict]) -> str:
    ok = [r for r in rows if r.get("status") == "ok"]
    subsets = sorted({k for r in ok for k in r if k.startswith("test/acc_")})
    ok.sort(key=lambda r: (SUMMARIZER_ORDER.index(r["summarizer"]) if r.get("summarizer") in SUMMARIZER_ORDER
                           else len(SUMMARIZER_ORDER), str(r.get("summarizer")), r.get("seed", 0)))
    header = ["summarizer", "seed", "test acc %", *[s.replace("test/acc_", "") + " %" for s in subsets],
              "macro-F1 %", "best val acc %", "params", "train s", "tokens/s"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in ok:
        cells = [r["summarizer"], _fmt(r.get("seed")), _fmt(r.get("test/acc"), True),
                 *[_fmt(r.get(s), True) for s in subsets], _fmt(r.get("test/f1"), True),
                 _fmt(r.get("val/acc_best"), True), _fmt(r.get("params")), _fmt(r.get("train_seconds")),
                 _fmt(r.get("tokens_per_second"))]
        lines.append("| " + " | ".join(cells) + " |")
    failed = [r for r in rows if r.get("status") != "ok"]
    if failed:
        lines += ["", "Failed jobs:"] + [f"- {r['job']}: {r.get('error', 'unknown error')}" for r in failed]
    return "\n".join(lines) + "\n"


def write_report(sweep_dir: str | Path) -> str:
    sweep_dir = Path(sweep_dir)
    rows = load_results(sweep_dir)
    table = markdown_table(rows)
    (sweep_dir / "report.md").write_text(f"# Sweep {sweep_dir.name}\n\n{table}")
    return table


class SweepReportCallback(Callback):
    """Prints and writes the comparison table when a multirun ends."""

    def on_multirun_end(self, config, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        table = write_report(sweep_dir)
        print(f"\nComparison ({sweep_dir}/report.md):\n\n{table}", flush=True)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print("usage: python -m src.report SWEEP_DIR", file=sys.stderr)
        return 2
    print(write_report(argv[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
