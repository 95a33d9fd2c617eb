"""Fixtures and test-session settings; shared helpers live in tests/helpers.py."""

from __future__ import annotations

import os

import pytest
import torch

from tests.helpers import compose_train_config

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture
def train_config(tmp_path):
    def make(*overrides: str):
        return compose_train_config(list(overrides), tmp_path)

    return make
