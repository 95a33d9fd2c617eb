"""Where the benchmark's models come from: the device, the data and the Hydra config that
``python -m src.train`` would run with, so that every measurement times the real thing."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from src.summarizers.base import ConfigError
from src.summarizers.registry import default_options, summarizer_names

REPO = Path(__file__).resolve().parents[2]
CONF_DIR = REPO / "conf"
DEFAULT_DATA_DIR = REPO.parent / "shared" / "data" / "mr"
SUMMARIZERS = tuple(summarizer_names())


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda, but torch.cuda.is_available() is False")
    return device


def data_overrides(data_dir: str | None) -> tuple[list[str], str]:
    """Overrides selecting the benchmark's data, and where it comes from."""
    if data_dir == "none":
        return [], "the default data config"
    folder = Path(data_dir).expanduser() if data_dir else DEFAULT_DATA_DIR
    if data_dir and not folder.is_dir():
        raise ConfigError(f"--data-dir: no such folder: {folder}")
    if folder.is_dir() and (CONF_DIR / "data" / "files.yaml").is_file():
        return ["data=files", f"data.data_dir={folder}"], str(folder)
    return [], "the default data config"


def model_overrides(args: argparse.Namespace, summarizer: str, device: torch.device) -> list[str]:
    out = [
        f"summarizer={summarizer}",
        f"model.embedding.dim={args.embedding_dim}",
        f"data.batch_size={args.batch_size}",
        "logger=none",
    ]
    if "hidden_size" in default_options(summarizer):
        out.append(f"summarizer.hidden_size={args.hidden_size}")
    if device.type == "cuda":
        out += ["trainer=gpu", f"trainer.devices=[{device.index or 0}]"]
    if args.precision == "bf16":
        out.append("trainer.precision=bf16-mixed")
    return out + list(args.data) + list(args.overrides)


def compose(overrides: list[str], output_dir: Path):
    """The config ``python -m src.train <overrides>`` would run with (Hydra node set, so
    ``${hydra:...}`` resolves)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import open_dict

    import src.utils.resolvers  # noqa: F401

    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR), job_name="bench"):
        cfg = hydra_compose("train", overrides=overrides, return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(output_dir)
    HydraConfig.instance().set_config(cfg)
    return cfg
