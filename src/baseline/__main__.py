"""``python -m src.baseline``: see :mod:`src.baseline.run`."""

from src.baseline.run import main
from src.utils.cli import hydra_entry

if __name__ == "__main__":
    hydra_entry(main)
