"""Bad input at every command ends in one line: ``error: ...`` on stderr, exit status 2, no traceback.

Each case is a real command line, ``python -m src.<command> <args>``, run the way the interpreter
runs it (``runpy`` as ``__main__``, its own process, its own stdin/stdout/stderr and exit status).
To keep some forty cases fast, one runner process imports torch, Lightning and Hydra once and
forks a child per case (:func:`run_cases`); :func:`test_the_forked_runner_matches_a_real_process`
checks that a case gives the same status and stderr in a plain subprocess, and a few cases run
in plain subprocesses besides. Data files are a few lines in a temporary folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from lightning import Callback

from tests.helpers import REPO, TINY, tiny_classifier

SMALL = ["logger=none", "summarizer=mean", "model.embedding.dim=16", "model.head.width=16", "trainer.max_epochs=1"]
SYNTHETIC = [a for a in TINY if a.startswith("data.source.")]  # only where the built-in data is used
FILES = ["data=files", "data.cache_dir=null"]


# --------------------------------------------------------------------------- the mechanism
def test_the_first_user_error_in_the_chain_is_found_through_hydra_and_from_none():
    import hydra
    from hydra.errors import InstantiationException

    from src.data.sources import DataError
    from src.summarizers.base import ConfigError
    from src.utils.errors import UserError, find_user_error

    assert issubclass(DataError, UserError) and issubclass(ConfigError, UserError)
    # Hydra wraps what a target raises; the project's error, not the library's below it, is found
    with pytest.raises(InstantiationException) as wrapped:
        hydra.utils.instantiate({"_target_": "src.data.sources.read_file", "path": "x.xlsx"})
    found = find_user_error(wrapped.value)
    assert isinstance(found, DataError) and "unsupported extension '.xlsx'" in str(found)

    def raise_from(inner: BaseException, outer: BaseException, hide: bool):
        try:
            raise inner
        except BaseException:  # noqa: BLE001  (re-raised)
            if hide:
                raise outer from None
            raise outer from inner

    for hide in (False, True):  # the project's error raised from a library's: the project's
        with pytest.raises(DataError) as error:
            raise_from(UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad"), DataError("f.csv: not UTF-8"), hide)
        assert find_user_error(error.value) is error.value
    with pytest.raises(TypeError) as bug:  # a bug that hid the user error it was handling: a bug
        raise_from(DataError("f.csv: not UTF-8"), TypeError("oops"), hide=True)
    assert find_user_error(bug.value) is None
    assert find_user_error(ValueError("plain")) is None


def test_one_line_keeps_a_dataloader_workers_message():
    from src.utils.errors import one_line

    text = (
        "Caught DataError in DataLoader worker process 0.\nOriginal Traceback (most recent call last):\n"
        '  File "x.py", line 1, in f\nsrc.data.sources.DataError: f.csv: row 3 has no label\n'
    )
    assert one_line(ValueError(text)) == "f.csv: row 3 has no label"
    assert one_line(ValueError("two\nlines")) == "two lines"


def test_the_wrapper_exits_2_on_a_user_error_and_keeps_a_bugs_traceback(capsys):
    from src.summarizers.base import ConfigError
    from src.utils.cli import user_errors

    @user_errors
    def bad_setting():
        raise RuntimeError("while building") from ConfigError("data.batch_size must be a positive integer, got 0")

    with pytest.raises(SystemExit) as exit_:
        bad_setting()
    assert exit_.value.code == 2
    assert capsys.readouterr().err == "error: data.batch_size must be a positive integer, got 0\n"

    @user_errors
    def bug():
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        bug()

    @user_errors
    def ctrl_c():
        raise KeyboardInterrupt

    with pytest.raises(SystemExit) as exit_:
        ctrl_c()
    assert exit_.value.code == 130 and capsys.readouterr().err == "interrupted: Ctrl-C\n"


# --------------------------------------------------------------------------- the runner
def run_cases(cases: list[dict], workdir: Path, timeout: float = 600) -> list[dict]:
    """Run each ``{"module", "args", "stdin"?}`` as ``python -m module *args`` (see the module doc);
    ``[{"rc", "stdout", "stderr"}]`` in the same order."""
    spec, out = workdir / "cases.json", workdir / "results.json"
    spec.write_text(json.dumps(cases))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline", "WANDB_SILENT": "true"}
    proc = subprocess.run(
        [sys.executable, "-m", "tests.test_cli_errors", str(spec), str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text())


def _serve(spec: Path, out: Path) -> None:
    import importlib
    import runpy
    import traceback

    # imported once here, inherited by every case's process (not src.train and friends themselves:
    # runpy runs those afresh as __main__)
    for name in (
        "hydra",
        "lightning",
        "pandas",
        "datasets",
        "src.checkpointing",
        "src.data.datamodule",
        "src.model.module",
    ):
        importlib.import_module(name)
    cases, results = json.loads(spec.read_text()), []
    for i, case in enumerate(cases):
        streams = {name: out.parent / f"case{i}.{name}" for name in ("stdout", "stderr")}
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the case's process: stdin/stdout/stderr of its own, then the module as __main__
            code = 1
            try:
                for fd, path, flags in (
                    (1, streams["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                    (2, streams["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                    (0, case.get("stdin") or os.devnull, os.O_RDONLY),
                ):
                    os.dup2(os.open(path, flags, 0o644), fd)
                sys.argv = ["-m", *case["args"]]
                try:
                    runpy.run_module(case["module"], run_name="__main__", alter_sys=True)
                    code = 0
                except SystemExit as exc:  # as the interpreter treats it
                    if exc.code is None or isinstance(exc.code, int):
                        code = exc.code or 0
                    else:
                        print(exc.code, file=sys.stderr)
                except BaseException:  # noqa: BLE001  (an uncaught error: traceback, status 1)
                    traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        results.append(
            {
                "rc": os.waitstatus_to_exitcode(status),
                **{name: path.read_text(errors="replace") for name, path in streams.items()},
            }
        )
    out.write_text(json.dumps(results))


# --------------------------------------------------------------------------- bad input
def write_files(folder: Path) -> dict[str, Path]:
    """Small data files, good and bad, and checkpoints for src.eval / src.predict."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [("a fine film", "pos"), ("a dull film", "neg"), ("great acting", "pos"), ("bad plot", "neg")] * 6
    good = "text,label\n" + "".join(f"{t},{y}\n" for t, y in rows)
    files = {
        "good.csv": good,
        "quote.csv": 'text,label\n"a fine film,pos\na dull film,neg\n',
        "latin1.csv": b"text,label\na fine film,pos\ncaf\xe9 au lait,neg\n",
        "broken.jsonl": '{"text": "a fine film", "label": "pos"}\n{"text": "a dull film", "label": "neg"}\n'
        '{"text": "great", "lab',
        "nolabel.csv": "text,sentiment\na fine film,pos\n",
        "header_only.csv": "text,label\n",
        "unseen.csv": "text,label\na fine film,pos\na new film,neutral\n",
        "data.xlsx": "not really a spreadsheet",
        "notab.txt": "pos\ta fine film\nneg a dull film\n",
        "empty.csv": "",
        "one_class.csv": "text,label\n" + "a fine film,pos\n" * 10,
        "record.json": '{"text": "a fine film", "label": "pos"}',
        "no_label_value.csv": "text,label\na fine film,pos\na dull film,\n",
        "texts.txt": "a fine film\na dull film\n",
        "texts_latin1.txt": b"a fine film\ncaf\xe9\n",
        "binary.txt": b"a fine film\n\x00\x01\x02\n",
        "texts.csv": "id,review\n1,a fine film\n",
        "vectors.txt": "film 0.1 0.2\n",  # 2 numbers where model.embedding.dim is 16
    }
    paths = {}
    for name, content in files.items():
        path = folder / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        paths[name] = path
    paths.update(write_checkpoints(folder, paths["good.csv"]))
    return paths


class _Payload:
    """Unpickling this object would create ``marker``: the proof that a checkpoint ran code."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def write_checkpoints(folder: Path, train_file: Path) -> dict[str, Path]:
    """A small genuine checkpoint (what src.eval and src.predict need) and hostile variants."""
    from src.loading import RUN_KEY

    model, data = tiny_classifier(train_file)
    good = {
        "state_dict": model.state_dict(),
        "hyper_parameters": json.loads(json.dumps(dict(model.hparams))),
        "seq2vec": {"tokenizer": data.tokenizer.to_str()},
        RUN_KEY: {"seed": 0, "summarizer_name": "mean"},
    }
    marker = folder / "PAYLOAD_RAN"
    hostile = {
        "model.ckpt": good,
        "pickle.ckpt": {**good, "hyper_parameters": _Payload(marker)},
        "target.ckpt": {
            **good,
            "hyper_parameters": {
                **good["hyper_parameters"],
                "summarizer": {"_target_": "builtins.open", "file": str(marker), "mode": "w"},
            },
        },
        "nested_target.ckpt": {
            **good,
            "hyper_parameters": {
                **good["hyper_parameters"],
                "summarizer": {
                    "_target_": "src.summarizers.MeanSummarizer",
                    "extra": {"_target_": "builtins.open", "file": str(marker), "mode": "w"},
                },
            },
        },
    }
    paths = {}
    for name, checkpoint in hostile.items():
        torch.save(checkpoint, folder / name)
        paths[name] = folder / name
    (folder / "garbage.ckpt").write_bytes(b"PK\x03\x04 not a checkpoint")
    paths["garbage.ckpt"], paths["marker"] = folder / "garbage.ckpt", marker
    return paths


# (id, module, args, what the error line must contain); {name} is a file of write_files, {out} a fresh dir
CASES = [
    # the five of the issue
    (
        "csv_unterminated_quote",
        "src.train",
        [*FILES, "data.train_file={quote.csv}"],
        "quote.csv: cannot read as csv: EOF inside string starting at row 1 (line 2)",
    ),
    (
        "csv_not_utf8",
        "src.train",
        [*FILES, "data.train_file={latin1.csv}"],
        "latin1.csv: not valid UTF-8: byte 0xe9 at byte offset 30 (line 3); re-save the file as UTF-8",
    ),
    (
        "jsonl_broken_last_line",
        "src.train",
        [*FILES, "data.train_file={broken.jsonl}"],
        "broken.jsonl: line 3 is not valid JSON (Unterminated string starting at)",
    ),
    ("batch_size_0", "src.train", ["data.batch_size=0"], "data.batch_size must be a positive integer, got 0"),
    ("lr_negative", "src.train", ["model.optimizer.lr=-1"], "model.optimizer.lr must be a number > 0, got -1"),
    # the README's
    ("missing_file", "src.train", [*FILES, "data.train_file={dir}/nope.csv"], "data.train_file: no such file: "),
    (
        "missing_column",
        "src.train",
        [*FILES, "data.train_file={nolabel.csv}"],
        "no column 'label' (columns: text, sentiment)",
    ),
    (
        "empty_split",
        "src.train",
        [*FILES, "data.train_file={good.csv}", "data.test_file={header_only.csv}"],
        "header_only.csv",
    ),
    (
        "unseen_label",
        "src.train",
        [*FILES, "data.train_file={good.csv}", "data.validation_file={unseen.csv}"],
        "'neutral'",
    ),
    ("unsupported_extension", "src.train", [*FILES, "data.train_file={data.xlsx}"], "unsupported extension '.xlsx'"),
    (
        "txt_line_without_tab",
        "src.train",
        [*FILES, "data.train_file={notab.txt}"],
        "notab.txt: line 2 has no tab (expected label<TAB>text): 'neg a dull film'",
    ),
    ("empty_file", "src.train", [*FILES, "data.train_file={empty.csv}"], "empty.csv: the file is empty"),
    ("one_class", "src.train", [*FILES, "data.train_file={one_class.csv}"], "only one class ('pos')"),
    ("json_not_a_list", "src.train", [*FILES, "data.train_file={record.json}"], "expected a JSON list of records"),
    ("row_without_label", "src.train", [*FILES, "data.train_file={no_label_value.csv}"], "row 2 has no label"),
    ("no_train_file", "src.train", [*FILES], "data.train_file is not set"),
    ("missing_data_dir", "src.train", [*FILES, "data.data_dir={dir}/nowhere"], "data.data_dir: no such folder"),
    ("vectors_wrong_dim", "src.train", ["model.embedding.pretrained_path={vectors.txt}"], "vectors.txt"),
    (
        "vectors_missing",
        "src.train",
        ["model.embedding.pretrained_path={dir}/nope.txt"],
        "model.embedding.pretrained_path: no such file",
    ),
    # settings that reach library code
    ("eval_batch_size_0", "src.train", ["data.eval_batch_size=0"], "data.eval_batch_size must be a positive integer"),
    ("max_length_0", "src.train", ["data.max_length=0"], "data.max_length must be a positive integer or null, got 0"),
    ("num_workers_negative", "src.train", ["data.num_workers=-1"], "data.num_workers must be a non-negative integer"),
    ("pad_to_multiple_0", "src.train", ["data.pad_to_multiple=0"], "data.pad_to_multiple must be a positive integer"),
    ("compile_unknown", "src.train", ["model.compile=bogus"], "model.compile must be null or one of default, "),
    (
        "max_epochs_0",
        "src.train",
        ["trainer.max_epochs=0"],
        "trainer.max_epochs must be a positive integer, -1 (no limit) or null, got 0",
    ),
    ("max_epochs_text", "src.train", ["trainer.max_epochs=many"], "trainer.max_epochs must be a positive integer"),
    (
        "weight_decay_negative",
        "src.train",
        ["model.optimizer.weight_decay=-0.1"],
        "model.optimizer.weight_decay must be a number >= 0, got -0.1",
    ),
    ("lr_zero", "src.train", ["model.optimizer.lr=0"], "model.optimizer.lr must be a number > 0, got 0"),
    (
        "optimizer_unknown_option",
        "src.train",
        ["+model.optimizer.lrr=0.1"],
        "model.optimizer: AdamW.__init__() got an unexpected keyword argument 'lrr' (TypeError)",
    ),
    ("optimizer_unknown_class", "src.train", ["model.optimizer._target_=torch.optim.Adamm"], "model.optimizer: "),
    (
        "betas_out_of_range",
        "src.train",
        ["+model.optimizer.betas=[0.9,1.5]"],
        "model.optimizer: Invalid beta parameter at index 1: 1.5 (ValueError)",
    ),
    ("scheduler_factor", "src.train", ["model.scheduler.factor=2"], "model.scheduler: Factor should be < 1.0."),
    ("accelerator_missing", "src.train", ["trainer.accelerator=tpu"], "trainer: Requirement 'torch_xla"),
    ("precision_unknown", "src.train", ["trainer.precision=17"], "trainer: "),
    (
        "limit_batches_fraction",
        "src.train",
        ["trainer.limit_train_batches=1.5"],
        "trainer.limit_train_batches must be a number in [0, 1], got 1.5",
    ),
    (
        "hidden_size_0",
        "src.train",
        ["summarizer=lstm_h", "summarizer.hidden_size=0"],
        "hidden_size must be a positive integer, got 0",
    ),
    ("threads_0", "src.train", ["threads=0"], "threads must be a positive integer or null, got 0"),
    (
        "flush_denormal_word",
        "src.train",
        ["flush_denormal=sometimes"],
        "flush_denormal must be true or false, got 'sometimes'",
    ),
    # checkpoints
    ("train_resume_missing", "src.train", ["ckpt_path={dir}/nope.ckpt"], "checkpoint not found: "),
    (
        "train_resume_garbage",
        "src.train",
        ["ckpt_path={garbage.ckpt}"],
        "garbage.ckpt is unreadable (truncated or not a torch file?): RuntimeError: PytorchStreamReader failed reading "
        "zip archive: not a ZIP archive",
    ),
    ("train_resume_pickle", "src.train", ["ckpt_path={pickle.ckpt}"], "pickle.ckpt holds Python objects"),
    ("eval_no_checkpoint", "src.eval", [], "give the checkpoint to score: ckpt_path="),
    ("eval_missing_checkpoint", "src.eval", ["ckpt_path={dir}/nope.ckpt"], "checkpoint not found: "),
    ("eval_checkpoint_is_a_folder", "src.eval", ["ckpt_path={dir}"], "is not a file"),
    ("eval_garbage_checkpoint", "src.eval", ["ckpt_path={garbage.ckpt}"], "garbage.ckpt is unreadable"),
    (
        "eval_pickle_checkpoint",
        "src.eval",
        ["ckpt_path={pickle.ckpt}"],
        "pickle.ckpt holds Python objects (io.open), not only tensors and plain data; refused",
    ),
    (
        "eval_target_checkpoint",
        "src.eval",
        ["ckpt_path={target.ckpt}", *FILES, "data.test_file={good.csv}"],
        "target.ckpt names summarizer 'builtins.open': not a class of this project",
    ),
    (
        "eval_nested_target",
        "src.eval",
        ["ckpt_path={nested_target.ckpt}", *FILES, "data.test_file={good.csv}"],
        "nested_target.ckpt has a _target_ at summarizer.extra._target_: refused",
    ),
    ("eval_unseen_label", "src.eval", ["ckpt_path={model.ckpt}", *FILES, "data.test_file={unseen.csv}"], "'neutral'"),
    (
        "eval_missing_split",
        "src.eval",
        ["ckpt_path={model.ckpt}", *FILES, "data.test_file={good.csv}", "split=validation"],
        "no 'validation' split (have: test)",
    ),
    (
        "eval_batch_size_0",
        "src.eval",
        ["ckpt_path={model.ckpt}", *FILES, "data.test_file={good.csv}", "data.eval_batch_size=0"],
        "data.eval_batch_size must be a positive integer",
    ),
    ("predict_no_checkpoint", "src.predict", ["text=hi"], "give the model: ckpt_path="),
    ("predict_garbage_checkpoint", "src.predict", ["ckpt_path={garbage.ckpt}", "text=hi"], "is unreadable"),
    ("predict_pickle_checkpoint", "src.predict", ["ckpt_path={pickle.ckpt}", "text=hi"], "holds Python objects"),
    ("predict_target_checkpoint", "src.predict", ["ckpt_path={target.ckpt}", "text=hi"], "not a class of this project"),
    (
        "predict_missing_input",
        "src.predict",
        ["ckpt_path={model.ckpt}", "input={dir}/nope.txt"],
        "input file not found",
    ),
    (
        "predict_missing_column",
        "src.predict",
        ["ckpt_path={model.ckpt}", "input={texts.csv}"],
        "texts.csv: no column 'text' (columns: id, review); set column=NAME",
    ),
    (
        "predict_not_utf8",
        "src.predict",
        ["ckpt_path={model.ckpt}", "input={texts_latin1.txt}"],
        "texts_latin1.txt: line 2 is not UTF-8 text (byte 0xe9 at offset 3 of the line); re-save it as UTF-8",
    ),
    (
        "predict_binary",
        "src.predict",
        ["ckpt_path={model.ckpt}", "input={binary.txt}"],
        "binary.txt: line 2 holds a NUL byte: a binary file, not text",
    ),
    ("predict_stdin_not_utf8", "src.predict", ["ckpt_path={model.ckpt}", "input=-"], "stdin: line 2 is not UTF-8 text"),
    (
        "predict_text_and_input",
        "src.predict",
        ["ckpt_path={model.ckpt}", "text=hi", "input={texts.txt}"],
        'give exactly one of text="..." or input=FILE',
    ),
    (
        "predict_batch_size_0",
        "src.predict",
        ["ckpt_path={model.ckpt}", "text=hi", "batch_size=0"],
        "batch_size must be a positive integer, got 0",
    ),
    (
        "predict_unknown_device",
        "src.predict",
        ["ckpt_path={model.ckpt}", "text=hi", "device=gpu0"],
        "device must be cpu, cuda or cuda:N, got 'gpu0'",
    ),
    (
        "predict_output_under_a_file",
        "src.predict",
        ["ckpt_path={model.ckpt}", "text=hi", "output={texts.txt}/out.jsonl"],
        "texts.txt/out.jsonl: {texts.txt} is a file, not a folder",
    ),
    # settings OmegaConf cannot resolve (found by the config fuzz): the key, not a traceback
    ("seed_refers_to_itself", "src.train", ["seed='${seed}'"], "error: seed: refers to itself"),
    ("seed_interpolates_nothing", "src.train", ["seed='${nope}'"], "error: seed: Interpolation key 'nope' not found"),
    ("seed_missing", "src.train", ["seed=???"], "error: seed: has no value (???): set it"),
    ("bench_rounds_0", "src.bench", ["--rounds", "0"], "--rounds must be >= 1, got 0"),
    ("bench_missing_data_dir", "src.bench", ["--data-dir", "{dir}/nowhere"], "--data-dir: no such folder"),
]
STDIN = {"predict_stdin_not_utf8": "texts_latin1.txt"}


class Bug(Callback):
    """Test helper: a callback with a bug (Lightning calls ``setup`` when fitting starts)."""

    def setup(self, trainer, pl_module, stage):
        return {}["missing"]


BUG = ("bug_in_a_callback", "src.train", [f"+callbacks.bug._target_={Bug.__module__}.Bug"])


def fill(text: str, files: dict[str, Path], folder: Path, out: Path) -> str:
    for name, value in {**files, "dir": folder, "out": out}.items():
        text = text.replace(f"{{{name}}}", str(value))
    return text


def command(case_id: str, module: str, args: list[str], files: dict, folder: Path) -> dict:
    out = folder / "runs" / case_id
    if module == "src.train":
        args = [*SMALL, *([] if "data=files" in args else SYNTHETIC), *args, f"hydra.run.dir={out}"]
    elif module == "src.eval":
        args = [*args, f"hydra.run.dir={out}"]
    case = {"module": module, "args": [fill(a, files, folder, out) for a in args]}
    if case_id in STDIN:
        case["stdin"] = str(files[STDIN[case_id]])
    return case


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad_input")
    files = write_files(folder)
    cases = [command(case_id, module, args, files, folder) for case_id, module, args, *_ in [*CASES, BUG]]
    results = run_cases(cases, folder)
    return {case[0]: (result, files, folder) for case, result in zip([*CASES, BUG], results)}


def assert_one_line_error(result: dict, expected: str) -> str:
    errors = [line for line in result["stderr"].splitlines() if line.startswith("error: ")]
    assert result["rc"] == 2, result["stderr"][-3000:]
    assert "Traceback" not in result["stderr"], result["stderr"][-3000:]
    assert len(errors) == 1 and expected in errors[0], result["stderr"][-3000:]
    assert result["stdout"] == "" or not result["stdout"].lstrip().startswith("{")  # no prediction printed
    return errors[0]


@pytest.mark.slow
@pytest.mark.parametrize("case_id,expected", [(c[0], c[3]) for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_with_exit_status_2(outcomes, case_id, expected):
    result, files, folder = outcomes[case_id]
    line = assert_one_line_error(result, fill(expected, files, folder, folder))
    assert "\n" not in line
    assert not files["marker"].exists(), "a checkpoint ran code"
    run_dir = folder / "runs" / case_id
    assert not (run_dir / "results.json").exists()  # a failed single run reports nothing
    assert not (run_dir / "checkpoints").exists()  # every case stops before training


# --------------------------------------------------------------------------- real processes
@pytest.mark.slow
def test_the_forked_runner_matches_a_real_process(tmp_path):
    """The same command in a plain ``python -m`` subprocess: the same status and error line."""
    files = write_files(tmp_path)
    args = [*SMALL, *FILES, f"data.train_file={files['quote.csv']}", f"hydra.run.dir={tmp_path / 'run'}"]
    forked = run_cases([{"module": "src.train", "args": args}], tmp_path)[0]
    real = subprocess.run(
        [sys.executable, "-m", "src.train", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert (real.returncode, forked["rc"]) == (2, 2)
    assert real.stderr.strip().splitlines()[-1] == forked["stderr"].strip().splitlines()[-1]
    assert_one_line_error({"rc": real.returncode, "stderr": real.stderr, "stdout": real.stdout}, "quote.csv")


@pytest.mark.slow
def test_a_bug_keeps_its_traceback(outcomes):
    """Not a user error (a KeyError in a callback): the traceback, exit status 1."""
    result, _, _ = outcomes[BUG[0]]
    assert result["rc"] == 1 and "Traceback" in result["stderr"], result["stderr"][-3000:]
    assert "KeyError: 'missing'" in result["stderr"] and 'return {}["missing"]' in result["stderr"]
    assert not [line for line in result["stderr"].splitlines() if line.startswith("error: ")]


@pytest.mark.slow
def test_a_user_error_in_a_sweep_fails_that_job_only(tmp_path):
    """``-m``: the job with the bad value records the line in its results.json, the other runs."""
    args = [
        *TINY,
        "summarizer=mean",
        "data.batch_size=0,32",
        f"hydra.sweep.dir={tmp_path}",
        "~hydra.callbacks.sweep_report",
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "src.train", "-m", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    line = "data.batch_size must be a positive integer, got 0"
    assert f"error: {line}" in proc.stderr.splitlines()
    failed = json.loads((tmp_path / "0_mean" / "results.json").read_text())
    assert failed == {
        "summarizer": "mean",
        "seed": 0,
        "data": "order_sentiment",
        "fold": None,
        "status": "failed",
        "error": line,
    }
    assert json.loads((tmp_path / "1_mean" / "results.json").read_text())["status"] == "ok"


if __name__ == "__main__":  # the runner: python -m tests.test_cli_errors CASES.json RESULTS.json
    _serve(Path(sys.argv[1]), Path(sys.argv[2]))


@pytest.mark.slow
@pytest.mark.parametrize(
    "module,args,expected",
    [
        ("src.train", ["no_such_key=1"], "error: Could not override 'no_such_key'. To append to your config use"),
        ("src.train", ["summarizer=nope"], "error: In 'train': Could not find 'summarizer/nope' Available options"),
        ("src.eval", ["ckpt_path=x", "logger=nope"], "error: In 'eval': Could not find 'logger/nope'"),
        ("src.predict", ["ckpt_path=x", "text=hi", "bad=["], "error: command line: no viable alternative at input"),
    ],
)
def test_a_bad_command_line_is_one_line_with_exit_status_2(module, args, expected, tmp_path):
    """Hydra's own composition errors (unknown key, unknown option, malformed override) go through
    the same one-line path as every other user error."""
    proc = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        timeout=300,
    )
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith(expected) and "Config search path" not in lines[0], lines
