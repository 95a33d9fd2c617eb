"""W&B in a sweep: one offline run per job, finished, grouped by sweep, plus the report's run.

Offline runs of wandb >= 0.2x keep group, job type, tags and config only in their ``run-*.wandb``
transaction log (LevelDB log format, protobuf records), so the test reads that file directly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO
from tests.helpers import TINY as HELPER_TINY

TINY = [o for o in HELPER_TINY if o != "logger=none"]  # these runs log to W&B


def wandb_records(path: Path):
    """Protobuf records of an offline run file: a 7-byte header, then LevelDB-log chunks in
    32 KiB blocks (4-byte checksum, 2-byte length, 1-byte type: full/first/middle/last)."""
    from wandb.proto import wandb_internal_pb2 as pb

    data = path.read_bytes()
    assert data[:4] == b":W&B", path
    pos, block, pending = 7, 32 * 1024, b""
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # a block's tail too short for a header is padding
            pos += block - pos % block
            continue
        length, kind = int.from_bytes(data[pos + 4 : pos + 6], "little"), data[pos + 6]
        payload, pos = data[pos + 7 : pos + 7 + length], pos + 7 + length
        if kind in (1, 4):
            record = pb.Record()
            record.ParseFromString(pending + payload if kind == 4 else payload)
            yield record
        elif kind == 2:
            pending = payload
        elif kind == 3:
            pending += payload


def read_offline_run(run_dir: Path) -> dict:
    run, config, history, exit_code = None, {}, {}, None
    (path,) = run_dir.glob("run-*.wandb")
    for record in wandb_records(path):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run = record.run
            config.update({i.key: json.loads(i.value_json) for i in record.run.config.update})
        elif kind == "config":
            config.update({i.key: json.loads(i.value_json) for i in record.config.update})
        elif kind == "history":
            history.update({i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in record.history.item})
        elif kind == "exit":
            exit_code = record.exit.exit_code
    assert run is not None, path
    return {
        "id": run.run_id,
        "group": run.run_group,
        "job_type": run.job_type,
        "tags": list(run.tags),
        "name": run.display_name,
        "project": run.project,
        "config": config,
        "history": history,
        "exit_code": exit_code,
    }


@pytest.mark.slow
def test_two_job_sweep_makes_two_finished_offline_runs_in_one_group(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "src.train",
            "-m",
            "logger=wandb",
            "summarizer=mean,rnn",
            "seed=3",
            *TINY,
            f"hydra.sweep.dir={tmp_path}/s_${{unique_id:}}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        env={k: v for k, v in os.environ.items() if k != "WANDB_MODE"},
    )  # offline must be the default
    assert proc.returncode == 0, proc.stderr[-3000:]
    (sweep,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    runs = {}
    for job, summarizer in [("0_mean", "mean"), ("1_rnn", "rnn")]:
        run_dirs = list((sweep / job / "wandb").glob("offline-run-*"))
        assert len(run_dirs) == 1, run_dirs  # offline by default, one run per job, under the job's dir
        run = runs[job] = read_offline_run(run_dirs[0])
        assert run["group"] == sweep.name and run["project"] == "seq2vec"
        assert run["job_type"] == summarizer and run["name"] == f"{summarizer}-s3"
        assert set(run["tags"]) == {summarizer, "order_sentiment", "seed3"}
        assert run["config"]["summarizer_name"] == summarizer and run["config"]["seed"] == 3
        assert run["config"]["data"]["source"]["n_train"] == 200 and run["config"]["params"] > 0
        assert 0 <= run["history"]["val/acc"] <= 1 and run["exit_code"] == 0  # finished before the next job
    assert runs["0_mean"]["id"] != runs["1_rnn"]["id"]
    # the sweep's report: its own run in the same group, with the table and the plots
    (report_dir,) = (sweep / "wandb").glob("offline-run-*")
    report = read_offline_run(report_dir)
    assert (report["group"], report["job_type"], report["exit_code"]) == (sweep.name, "report", 0)
    assert report["history"]["summary/_type"] == "table-file" and report["history"]["summary/nrows"] == 2
    assert report["history"]["jobs/nrows"] == 2
    for plot in ("accuracy", "val_curves", "length_buckets", "efficiency"):
        assert report["history"][f"plots/{plot}/_type"] == "image-file"
        assert (report_dir / "files" / report["history"][f"plots/{plot}/path"]).stat().st_size > 10_000
