"""``python -m src.inspect``: see :mod:`src.inspect.cli`."""

import sys

from src.inspect.cli import main, quote_text_argument
from src.utils.cli import hydra_entry

if __name__ == "__main__":
    sys.argv = [sys.argv[0], *quote_text_argument(sys.argv[1:])]
    hydra_entry(main)
