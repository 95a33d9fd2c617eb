"""docs/extending.md, done for real: a new summarizer is one class plus one YAML file, and the
registry, the configs and the contract checks take it with no other edit."""

from __future__ import annotations

import shutil
import textwrap

import hydra
import torch

from src.summarizers.registry import registry, summarizer_names
from tests.helpers import CONF_DIR

CLASS = '''
import torch
from src.summarizers.base import Summarizer, gather_last


class FirstLastSummarizer(Summarizer):
    """[x_1; x_T]: the first and the last real word vector."""

    def __init__(self, input_dim: int):
        super().__init__()
        self.input_dim, self.output_dim = input_dim, 2 * input_dim

    def forward(self, x, lengths):
        return torch.cat([x[:, 0], gather_last(x, lengths)], dim=-1)
'''

YAML = """
# @package _global_
summarizer_info:
  family: reference
  rank: 7
  about: "[first; last] word vector: a control that reads two words."
summarizer:
  _target_: my_summarizers.FirstLastSummarizer
"""


def test_one_class_and_one_yaml_file_make_a_summarizer(tmp_path, monkeypatch):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    (tmp_path / "my_summarizers.py").write_text(CLASS)
    monkeypatch.syspath_prepend(str(tmp_path))
    conf = tmp_path / "conf"
    shutil.copytree(CONF_DIR, conf)
    (conf / "summarizer" / "first_last.yaml").write_text(textwrap.dedent(YAML).lstrip())

    names = summarizer_names(conf_dir=conf / "summarizer")
    assert names[-1] == "first_last" and names[:-1] == summarizer_names()
    assert "first_last" in summarizer_names("reference", conf_dir=conf / "summarizer")
    assert "first_last" not in summarizer_names("course", conf_dir=conf / "summarizer")
    assert registry(conf / "summarizer")[-1].about.startswith("[first; last]")

    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(conf)):
        cfg = compose("train", overrides=["summarizer=first_last", "logger=none"])
    model = hydra.utils.instantiate(cfg.summarizer, input_dim=3)
    x = torch.randn(2, 5, 3)
    x[0, 2:] = 1e4  # padding
    out = model(x, torch.tensor([2, 5]))
    assert out.shape == (2, 6)
    torch.testing.assert_close(out[0], torch.cat([x[0, 0], x[0, 1]]))
