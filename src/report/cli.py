"""``python -m src.report SWEEP_DIR``: (re)write a sweep's report by hand."""

from __future__ import annotations

import sys
from pathlib import Path

from src.report.writer import write_report
from src.utils.cli import user_errors
from src.utils.errors import UserError


@user_errors
def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        raise UserError(f"usage: python -m src.report SWEEP_DIR (not a directory: {argv[0] if argv else '(none)'})")
    import matplotlib

    matplotlib.use("Agg")
    print(write_report(argv[0]))
    return 0
