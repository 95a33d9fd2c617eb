"""``write_json_atomic``: what every results.json goes through."""

from __future__ import annotations

import json
import math
import os
import stat

import pytest
import torch

from src.utils.io import current_umask, write_json_atomic


def test_writes_plain_json_with_the_permissions_of_a_normal_file(tmp_path):
    old = os.umask(0o022)
    try:
        path = write_json_atomic(
            tmp_path / "sub" / "results.json", {"test/acc": torch.tensor(0.75), "loss": math.nan, "n": 3}
        )
    finally:
        os.umask(old)
    assert json.loads(path.read_text()) == {"test/acc": 0.75, "loss": None, "n": 3}
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # not mkstemp's owner-only 0600
    assert [p.name for p in path.parent.iterdir()] == ["results.json"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp_file(tmp_path):
    path = write_json_atomic(tmp_path / "results.json", {"a": 1})
    with pytest.raises(TypeError):
        write_json_atomic(path, {"a": object()})  # not JSON-serialisable
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_a_failed_rename_removes_the_temp_file(tmp_path, monkeypatch):
    def fail(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_json_atomic(tmp_path / "results.json", {"a": 1})
    assert list(tmp_path.iterdir()) == []


def test_current_umask_does_not_change_it():
    old = os.umask(0o027)
    try:
        assert current_umask() == 0o027 and current_umask() == 0o027
    finally:
        os.umask(old)
