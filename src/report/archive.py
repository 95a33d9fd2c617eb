"""``python -m src.report.archive OUT_DIR RESULTS_CSV [RESULTS_CSV ...] [--data SETS] [--rope POINTS]``: one
report from the per-job tables that sweeps left (each sweep's ``results.csv``, kept in ``docs/results/``);
``--data cr`` keeps one set's rows of tables that hold several.

A long comparison runs as several sweeps, on different days and machines, and their job folders
(checkpoints, predictions) stay outside git; what the repository keeps is one row per job. This turns
those rows back into job folders holding only ``results.json`` and writes the report over all of them,
so the README's tables are rebuilt by one command. Without predictions.csv the report's paired tests
use the per-seed scores, as they do for any job. Jobs are laid out in the classic suite's order of sets
(``src.data.suite.SUITE``, others after it), which is the matrix's order of columns.
"""

from __future__ import annotations

import csv
import math
import re
import sys
from pathlib import Path

from src.data.suite import SUITE
from src.report.cli import USAGE as REPORT_USAGE
from src.report.cli import parse as parse_report_args
from src.utils.cli import user_errors
from src.utils.errors import UserError
from src.utils.io import write_json_atomic

USAGE = "usage: python -m src.report.archive OUT_DIR RESULTS_CSV [RESULTS_CSV ...] [--data SETS] [--rope POINTS]"
# results.csv columns that the report derives from results.json, not results.json's own keys
DERIVED = {"job", "variant", "score"}
INTEGERS = {"seed", "fold", "folds", "threads", "params", "epochs", "max_length", "full_length"}


def _value(key: str, text: str):
    """A results.csv cell back to the type results.json had: ints for counts, floats for metrics."""
    try:
        number = float(text)
    except ValueError:
        return text
    if key in INTEGERS and number.is_integer():
        return int(number)
    return number if math.isfinite(number) else text


def read_rows(path: Path) -> list[dict]:
    """One results.json per row of a results.csv; empty cells are keys the job did not write."""
    try:
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or "summarizer" not in reader.fieldnames:
                raise UserError(f"{path}: no 'summarizer' column (not a sweep's results.csv)")
            rows = [
                {k: _value(k, v) for k, v in row.items() if k and k not in DERIVED and v not in ("", None)}
                for row in reader
            ]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UserError(f"{path}: cannot read it as CSV ({exc})") from None
    for number, row in enumerate(rows, start=2):
        if "data" not in row:
            raise UserError(f"{path}, row {number}: no 'data' (the dataset the job ran on)")
    return rows


def _set_position(dataset: str) -> int:
    return SUITE.index(dataset) if dataset in SUITE else len(SUITE)


def write_job_dirs(out_dir: Path, tables: list[Path], datasets: list[str] | None = None) -> int:
    """``out_dir/<n>_<table>_<dataset>_<summarizer>/results.json`` for every row (of ``datasets`` only,
    when given); returns the count."""
    rows = [(table, row) for table in tables for row in read_rows(table)]
    if datasets:
        held = sorted({str(row["data"]) for _, row in rows})
        rows = [(table, row) for table, row in rows if str(row["data"]) in datasets]
        if not rows:
            raise UserError(f"--data {','.join(datasets)}: no row of the tables has it (they hold {', '.join(held)})")
    rows.sort(key=lambda pair: _set_position(str(pair[1]["data"])))  # stable: each table's order kept within a set
    for number, (table, row) in enumerate(rows):
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{number}_{table.stem}_{row['data']}_{row['summarizer']}")
        write_json_atomic(out_dir / name / "results.json", row)
    return len(rows)


def _take(args: list[str], name: str) -> list[str]:
    """Removes ``name VALUE`` from ``args`` and returns it (just ``[name]`` when the value is missing)."""
    if name not in args:
        return []
    at = args.index(name)
    taken = args[at : at + 2]
    del args[at : at + 2]
    return taken


@user_errors
def main(argv: list[str] | None = None) -> int:
    positional = list(sys.argv[1:] if argv is None else argv)
    rope_args = _take(positional, "--rope")
    data_args = _take(positional, "--data")
    datasets = [d for d in data_args[1].split(",") if d] if len(data_args) == 2 else None
    if data_args and not datasets:
        raise UserError(f"{USAGE} (--data takes one or more set names, e.g. --data cr)")
    if len(positional) < 2:
        raise UserError(f"{USAGE} (give an output folder and at least one results.csv)")
    out_dir, tables = Path(positional[0]), [Path(p) for p in positional[1:]]
    for table in tables:
        if not table.is_file():
            raise UserError(f"{USAGE} (no such file: {table})")
    if out_dir.is_dir() and any(p.is_dir() for p in out_dir.iterdir()):
        raise UserError(f"{out_dir}: already holds job folders; give an empty or new OUT_DIR")
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        _, rope = parse_report_args([str(out_dir), *rope_args])
    except UserError as exc:
        raise UserError(str(exc).replace(REPORT_USAGE, USAGE)) from None
    write_job_dirs(out_dir, tables, datasets)
    import matplotlib

    matplotlib.use("Agg")
    from src.report.writer import write_report

    write_report(out_dir, rope=rope)
    print(f"{out_dir / 'report.md'}: {len(tables)} table(s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
