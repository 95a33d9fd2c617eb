"""Data preparation that scales (issue 15): memory-mapped cache entries, cache keys from the files'
bytes computed before parsing, Arrow texts encoded in batches, and the scale benchmark's output.
No timings here: ``python -m src.bench.scale`` measures them."""

from __future__ import annotations

import itertools
import json
import logging
import mmap
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import torch

from src.bench.scale_memory import fit_memory
from src.bench.scale_report import check_targets, format_table
from src.data import sources
from src.data.cache import ABANDONED_AFTER_S, CACHE_VERSION
from src.data.datamodule import FilesDataModule
from src.data.sources import LocalFiles
from src.data.texts import text_batches
from src.data.tokenizer import encode_flat, train_word_tokenizer
from tests.helpers import REPO

TEXTS = [f"sentence {i} is {'good' if i % 3 else 'bad'} and {'very ' * (i % 7)}long, truly!" for i in range(60)]


def write_csv(folder: Path, texts=TEXTS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "train.csv"
    lines = [f'"{t}",{"pos" if i % 2 else "neg"}' for i, t in enumerate(texts)]
    path.write_text("text,label\n" + "\n".join(lines) + "\n")
    return path


def module(path: Path, cache: Path | None, **kwargs) -> FilesDataModule:
    dm = FilesDataModule(train_file=str(path), cache_dir=str(cache) if cache else None, **kwargs)
    dm.setup()
    return dm


def memory_mapped(array: np.ndarray) -> bool:
    while array is not None:
        if isinstance(array, (np.memmap, mmap.mmap)):
            return True
        array = getattr(array, "base", None)
    return False


def batches(dm: FilesDataModule, split: str, shuffle: bool) -> list[dict]:
    return list(dm.dataloader(split, shuffle=shuffle, batch_size=8))


def test_a_cached_preparation_serves_memory_mapped_arrays_equal_to_a_fresh_one(tmp_path):
    path = write_csv(tmp_path / "data")
    fresh = module(path, None)
    cold, cached = module(path, tmp_path / "cache"), module(path, tmp_path / "cache")
    assert not cold.cache_hit and cached.cache_hit
    assert sorted(p.name for p in cached.cache_path.iterdir())[:3] == ["meta.json", "test.flat.npy", "test.labels.npy"]
    for dm in (cold, cached):
        assert dm.tokenizer.to_str() == fresh.tokenizer.to_str() and dm.label_names == fresh.label_names
        for split, data in dm.splits.items():
            assert memory_mapped(data.flat) and memory_mapped(data.offsets)
            for name in ("flat", "offsets", "labels", "lengths"):
                assert np.array_equal(getattr(data, name), getattr(fresh.splits[split], name)), (split, name)
            for ours, theirs in zip(batches(dm, split, True), batches(fresh, split, True), strict=True):
                assert ours.keys() == theirs.keys()
                assert all(torch.equal(ours[k], theirs[k]) for k in ours)


def test_a_cache_hit_on_files_never_parses_them(tmp_path, monkeypatch):
    path = write_csv(tmp_path / "data")
    first = module(path, tmp_path / "cache")

    def forbidden(*args, **kwargs):
        raise AssertionError("a cache hit must not read the files")

    monkeypatch.setattr(sources, "read_file", forbidden)
    second = module(path, tmp_path / "cache")
    assert second.cache_hit and second.cache_path == first.cache_path
    with pytest.raises(AssertionError, match="must not read"):
        module(path, None)  # the patch is live: without the cache the files are read


def test_one_changed_byte_changes_the_key(tmp_path):
    path = write_csv(tmp_path / "data")
    first = module(path, tmp_path / "cache")
    content = path.read_bytes()
    at = content.index(b"good")
    path.write_bytes(content[:at] + b"gooe" + content[at + 4 :])  # same size, one byte changed
    second = module(path, tmp_path / "cache")
    assert not second.cache_hit and second.cache_path != first.cache_path
    assert LocalFiles(train_file=str(path)).digest() != LocalFiles(validation_file=str(path)).digest()  # which split


def test_an_older_format_beside_the_entry_is_ignored(tmp_path, caplog):
    path = write_csv(tmp_path / "data")
    first = module(path, tmp_path / "cache")
    old = first.cache_path.parent / f"{first.cache_path.name}.npz"  # the version-1 file name of this key
    np.savez(old, meta=np.frombuffer(b'{"splits": []}', dtype=np.uint8))
    assert module(path, tmp_path / "cache").cache_hit
    meta = json.loads((first.cache_path / "meta.json").read_text())
    assert meta["version"] == CACHE_VERSION
    (first.cache_path / "meta.json").write_text(json.dumps({**meta, "version": 1}))  # an entry of an older format
    with caplog.at_level(logging.WARNING):
        again = module(path, tmp_path / "cache")
    assert not again.cache_hit and "cache format version 1, not" in caplog.text
    assert module(path, tmp_path / "cache").cache_hit  # rebuilt in place


@pytest.mark.parametrize("damage", ["meta", "array", "dtype", "missing"])
def test_an_unreadable_entry_is_rebuilt_with_a_warning(tmp_path, caplog, damage):
    path = write_csv(tmp_path / "data")
    first = module(path, tmp_path / "cache")
    flat = np.array(first.splits["train"].flat)
    entry = first.cache_path
    if damage == "meta":
        (entry / "meta.json").write_text("{not json")
    elif damage == "array":
        (entry / "train.flat.npy").write_bytes((entry / "train.flat.npy").read_bytes()[:-8])  # cut short
    elif damage == "dtype":
        np.save(entry / "train.flat.npy", flat.astype(np.float64))
    else:
        (entry / "train.offsets.npy").unlink()
    with caplog.at_level(logging.WARNING):
        again = module(path, tmp_path / "cache")
    assert not again.cache_hit and "ignoring unreadable cache entry" in caplog.text
    assert np.array_equal(again.splits["train"].flat, flat)
    third = module(path, tmp_path / "cache")
    assert third.cache_hit and np.array_equal(third.splits["train"].flat, flat)
    assert [p.name for p in entry.parent.iterdir()] == [entry.name]  # the bad entry is gone, no leftovers


def test_a_half_written_temporary_folder_is_never_read(tmp_path, monkeypatch):
    path = write_csv(tmp_path / "data")
    first = module(path, tmp_path / "cache")
    entry = first.cache_path
    half = entry.parent / f".{entry.name}.killed.tmp"  # as a run killed before its rename leaves it
    shutil.copytree(entry, half)
    (half / "train.flat.npy").write_bytes(b"\x93NUMPY")
    shutil.rmtree(entry)
    loads = []
    real_load = np.load
    monkeypatch.setattr(np, "load", lambda file, *a, **k: loads.append(Path(file)) or real_load(file, *a, **k))
    again = module(path, tmp_path / "cache")
    assert not again.cache_hit and (entry / "meta.json").is_file()
    assert loads and all(p.parent == entry for p in loads)  # only the renamed, whole entry is read


def test_a_killed_runs_old_temporary_folders_go_and_a_running_writes_stay(tmp_path):
    path = write_csv(tmp_path / "data")
    cache = tmp_path / "cache"
    entry = module(path, cache).cache_path
    old = [cache / f".{entry.name}.a.tmp", cache / f".{entry.name}.b.stale"]
    young, other = cache / f".{entry.name}.c.tmp", cache / "notes.tmp"  # in progress; not a temp of ours
    for folder in (*old, young, other):
        shutil.copytree(entry, folder)
    day_ago = time.time() - ABANDONED_AFTER_S - 60
    for folder in (*old, other):
        os.utime(folder, (day_ago, day_ago))
    shutil.rmtree(entry)  # the next run writes an entry, and cleans up as it does
    assert not module(path, cache).cache_hit
    assert sorted(p.name for p in cache.iterdir()) == sorted([entry.name, young.name, other.name])
    assert module(path, cache).cache_hit


def test_the_flat_encoder_gives_encode_batchs_ids():
    column = pa.chunked_array([pa.array(TEXTS[:25]), pa.array(TEXTS[25:])])  # batches cross a chunk boundary
    tokenizer = train_word_tokenizer(text_batches(column, np.arange(len(column))))
    expected = [e.ids for e in tokenizer.encode_batch(TEXTS, add_special_tokens=False)]
    index = np.arange(len(TEXTS))
    for size in (1, 7, 1000):
        flat, offsets, full_lengths = encode_flat(tokenizer, text_batches(column, index, size), None)
        assert flat.dtype == np.int32 and full_lengths is None
        assert [flat[a:b].tolist() for a, b in itertools.pairwise(offsets)] == expected
    flat, offsets, full_lengths = encode_flat(tokenizer, text_batches(column, index, 7), 5)
    assert [flat[a:b].tolist() for a, b in itertools.pairwise(offsets)] == [x[:5] for x in expected]
    assert full_lengths.tolist() == [len(x) for x in expected]
    taken = index[::-3]  # any order of rows
    assert list(itertools.chain.from_iterable(text_batches(column, taken, 4))) == [TEXTS[i] for i in taken]


def test_csv_cells_keep_pandas_rules(tmp_path):
    """Quoted commas, quotes and newlines are one cell; numbers in the text column stay text; a
    date-like label column stays text rather than becoming a timestamp."""
    path = tmp_path / "train.csv"
    path.write_text('\ufefftext,label\n"a, ""quoted""\nline",2020-01-01\n123,2020-01-02\n')
    table = sources.read_delimited(path, "text")
    assert table.column("text").to_pylist() == ['a, "quoted"\nline', "123"]
    assert table.column("label").to_pylist() == ["2020-01-01", "2020-01-02"]


def results_fixture() -> dict:
    sizes = [
        {"docs": d, "tokens": 126 * d, "csv_mb": 0.7 * d / 1000, "bytes_per_token": 0.0, **runs}
        for d, runs in (
            (1000, {"cold": {"seconds": 1.0, "peak_rss_mb": 400.0}, "cached": {"seconds": 0.1, "peak_rss_mb": 380.0}}),
            (2000, {"cold": {"seconds": 2.0, "peak_rss_mb": 402.4}, "cached": {"seconds": 0.1, "peak_rss_mb": 380.0}}),
        )
    ]
    results = {
        "sizes": sizes,
        "encoder": {"docs": 1000, "encode_flat_tokens_per_s": 9, "encode_batch_tokens_per_s": 10, "ratio": 0.9},
        "loader": {"docs": 2000, "batch_size": 64, "load_ms": 1.0, "step_ms": 100.0, "ratio": 1.01},
    }
    results["fit"] = fit_memory(sizes)
    results["targets"] = check_targets(results)
    return results


def test_the_scale_fit_and_table():
    results = results_fixture()
    assert results["fit"]["fixed_mb"] == pytest.approx(397.6, abs=0.1)
    assert results["fit"]["slope_bytes_per_token"] == pytest.approx(2.4 * 2**20 / 126_000, rel=1e-3)
    assert all(t["met"] for t in results["targets"].values())
    table = format_table(results)
    assert table.splitlines()[0].startswith("| documents | tokens | cold s | cold peak MB | cached s")
    assert "| 2,000 | 252,000 |" in table and "(step + load) / step = 1.010" in table
    assert "whole lstm_h epoch" not in table and "loader_epoch_ratio" not in results["targets"]


def test_a_whole_epoch_that_waits_on_its_loader_misses_the_target():
    results = results_fixture()
    epoch = {"docs": 2000, "epoch_batches": 25, "epoch_s": 30.0, "load_s": 4.0, "steps_alone_s": 26.0}
    results["loader_epoch"] = {**epoch, "ratio": 30.0 / 26.0}
    targets = check_targets(results)
    assert targets["loader_epoch_ratio"] == {"value": pytest.approx(1.1538, abs=1e-4), "target": "<= 1.1", "met": False}
    results["loader_epoch"]["ratio"] = 1.02
    assert check_targets(results)["loader_epoch_ratio"]["met"]
    results["targets"] = targets
    assert "one whole lstm_h epoch (25 batches): 30.0 s against 26.0 s of steps alone" in format_table(results)


@pytest.mark.slow  # six subprocesses, each importing torch and Lightning
def test_the_scale_script_on_tiny_sets(tmp_path):
    out = tmp_path / "scale.json"
    run = subprocess.run(
        [
            *[sys.executable, "-m", "src.bench.scale", "--docs", "200,400", "--out", str(out)],
            *["--loader-batches", "3", "--loader-epoch", "--loader-sample", "2"],
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads(out.read_text())
    assert {"sizes", "fit", "encoder", "loader", "targets", "machine", "commit", "command"} <= results.keys()
    assert [s["docs"] for s in results["sizes"]] == [200, 400]
    for size in results["sizes"]:
        assert size["tokens"] > 100 * size["docs"] and size["cached"]["cache_hit"] and not size["cold"]["cache_hit"]
        assert {"seconds", "peak_rss_mb"} <= size["cold"].keys()
    assert results["encoder"]["same_ids"] and results["loader"]["docs"] == 400 and results["loader"]["cache_hit"]
    assert "| 400 |" in run.stdout and "encoder:" in run.stdout
    epoch = results["loader_epoch"]
    assert epoch["docs"] == 400 and epoch["cache_hit"] and epoch["sample_batches"] == 2
    assert epoch["epoch_s"] >= epoch["steps_in_epoch_s"] + epoch["load_s"] - 0.01 and "whole lstm_h epoch" in run.stdout
