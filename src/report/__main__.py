"""``python -m src.report SWEEP_DIR``."""

import sys

from src.report.cli import main

sys.exit(main())
