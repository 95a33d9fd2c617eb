"""The one list of summarizers: every ``conf/summarizer/*.yaml``, each saying its family.

Tests, ``src.bench``, the report's row order and the comparison experiments read this list, so a new
summarizer is one class plus one YAML file and nothing else needs an edit. Reading it needs only
the YAML files (no torch import), so the report and the sweep configs can use it cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from omegaconf import OmegaConf

CONF_DIR = Path(__file__).resolve().parents[2] / "conf" / "summarizer"
# course: the seven summarizers of the course's question; reference: strong simple summaries of the
# literature, run beside them for comparison.
FAMILIES = ("course", "reference")


@dataclass(frozen=True)
class SummarizerInfo:
    name: str  # the config name: `summarizer=<name>`
    family: str  # one of FAMILIES
    rank: float  # place in tables within its family (then by name)
    about: str  # one line: what it computes and where it comes from


def _read(path: Path) -> SummarizerInfo:
    cfg = OmegaConf.load(path)
    meta = cfg.get("summarizer_info")
    if meta is None or "summarizer" not in cfg:
        raise ValueError(
            f"{path}: a summarizer config needs `# @package _global_`, a `summarizer_info` "
            "block (family, rank, about) and a `summarizer` block (_target_ and options)"
        )
    family = str(meta.get("family"))
    if family not in FAMILIES:
        raise ValueError(f"{path}: summarizer_info.family must be one of {FAMILIES}, got {family!r}")
    return SummarizerInfo(path.stem, family, float(meta.get("rank", float("inf"))), str(meta.get("about", "")))


@cache
def _registry(conf_dir: Path) -> tuple[SummarizerInfo, ...]:
    infos = [_read(p) for p in conf_dir.glob("*.yaml")]
    return tuple(sorted(infos, key=lambda i: (FAMILIES.index(i.family), i.rank, i.name)))


def registry(conf_dir: Path = CONF_DIR) -> tuple[SummarizerInfo, ...]:
    """Every summarizer, the course's first, each family in its table order."""
    return _registry(Path(conf_dir))


def summarizer_names(family: str = "all", conf_dir: Path = CONF_DIR) -> list[str]:
    """Config names of one family ('course', 'reference') or of all, in table order."""
    if family not in (*FAMILIES, "all"):
        raise ValueError(f"family must be one of {FAMILIES + ('all',)}, got {family!r}")
    return [i.name for i in registry(conf_dir) if family in ("all", i.family)]


def default_options(name: str, conf_dir: Path = CONF_DIR) -> dict:
    """The options a summarizer's YAML file sets (``hidden_size``, ``window``, ...), ``_target_`` aside."""
    options = OmegaConf.to_container(OmegaConf.load(Path(conf_dir) / f"{name}.yaml").summarizer)
    options.pop("_target_", None)
    return options
