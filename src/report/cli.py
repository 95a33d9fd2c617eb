"""``python -m src.report SWEEP_DIR``: (re)write a sweep's report by hand."""
from __future__ import annotations

import sys
from pathlib import Path

from src.report.writer import write_report


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print(f"usage: python -m src.report SWEEP_DIR (not a directory: {argv[0] if argv else '(none)'})",
              file=sys.stderr)
        return 2
    import matplotlib

    matplotlib.use("Agg")
    print(write_report(argv[0]))
    return 0
