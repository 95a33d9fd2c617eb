"""``python -m src.report SWEEP_DIR [--rope POINTS]``: (re)write a sweep's report by hand."""

from __future__ import annotations

import math
import sys
from pathlib import Path

from src.report.equivalence import ROPE_POINTS
from src.report.writer import write_report
from src.utils.cli import user_errors
from src.utils.errors import UserError

USAGE = "usage: python -m src.report SWEEP_DIR [--rope POINTS]"


def parse(argv: list[str]) -> tuple[str, float]:
    """The sweep dir and the rope (points of each dataset's metric, for the Bayesian comparison)."""
    args, rope = list(argv), ROPE_POINTS
    if "--rope" in args:
        at = args.index("--rope")
        value = args[at + 1] if at + 1 < len(args) else "(none)"
        try:
            rope = float(value)
        except ValueError:
            rope = math.nan
        if not rope > 0 or math.isinf(rope):
            raise UserError(f"{USAGE} (--rope takes a positive number of points, got {value})")
        del args[at : at + 2]
    if len(args) != 1 or not Path(args[0]).is_dir():
        raise UserError(f"{USAGE} (not a directory: {args[0] if args else '(none)'})")
    return args[0], rope


@user_errors
def main(argv: list[str] | None = None) -> int:
    sweep_dir, rope = parse(sys.argv[1:] if argv is None else argv)
    import matplotlib

    matplotlib.use("Agg")
    print(write_report(sweep_dir, rope=rope))
    return 0
