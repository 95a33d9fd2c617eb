"""``src.inspect``: word importance (leave-one-out, integrated gradients), states over time, and the
command. Tiny random models (embedding 8, hidden 8): the properties hold for any weights."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from src.inspect.attribution import (
    adaptive_integrated_gradients,
    class_probabilities,
    integrated_gradients,
    leave_one_out,
)
from src.inspect.states import lstm_recurrence, read_states
from src.model.module import SentenceClassifier
from src.summarizers.base import gather_last
from src.summarizers.recurrent import reverse_within_length
from src.summarizers.registry import CONF_DIR, summarizer_names
from tests.helpers import REPO

VOCAB = 40
GATED = ("lstm_h", "lstm_c", "lstm_hc", "avg_ch", "bilstm")


def _config(name: str) -> dict:
    from omegaconf import OmegaConf

    cfg = OmegaConf.to_container(OmegaConf.load(CONF_DIR / f"{name}.yaml").summarizer)
    if "hidden_size" in cfg:
        cfg["hidden_size"] = 8
    if "maps" in cfg:
        cfg["maps"] = 8
    if "attention_size" in cfg:
        cfg["attention_size"] = 8
    return cfg


def _model(name: str, seed: int = 0, **summarizer) -> SentenceClassifier:
    torch.manual_seed(seed)
    model = SentenceClassifier(
        summarizer={**_config(name), **summarizer},
        vocab_size=VOCAB,
        num_classes=3,
        embedding={"dim": 8},
        head={"width": 8},
        unk_id=1,
    )
    return model.eval()


def _batch():
    """Three sentences of lengths 7, 4 and 1, right-padded with 0 ([PAD])."""
    generator = torch.Generator().manual_seed(3)
    ids = torch.randint(2, VOCAB, (3, 7), generator=generator)
    lengths = torch.tensor([7, 4, 1])
    return ids * (torch.arange(7) < lengths[:, None]), lengths


# ----------------------------------------------------------------------------- word importance
def test_mean_importances_do_not_depend_on_word_order():
    model = _model("mean")
    ids = torch.tensor([[5, 9, 12, 7, 30, 21, 9]])
    permuted = ids[:, torch.tensor([4, 0, 6, 2, 1, 5, 3])]
    lengths = torch.tensor([7])
    target = class_probabilities(model, ids, lengths).argmax(-1)
    assert torch.equal(target, class_probabilities(model, permuted, lengths).argmax(-1))
    for scores in (
        lambda x: leave_one_out(model, x, lengths, target),
        lambda x: integrated_gradients(model, x, lengths, target)[0],
    ):
        a, b = scores(ids)[0].numpy(), scores(permuted)[0].numpy()
        assert np.allclose(np.sort(a), np.sort(b), atol=1e-6)
        assert np.abs(a).max() > 1e-4  # not trivially zero
    # and an LSTM's do depend on it
    lstm = _model("lstm_h")
    target = class_probabilities(lstm, ids, lengths).argmax(-1)
    a = leave_one_out(lstm, ids, lengths, target)[0].numpy()
    b = leave_one_out(lstm, permuted, lengths, target)[0].numpy()
    assert not np.allclose(np.sort(a), np.sort(b), atol=1e-6)


def test_leave_one_out_of_a_one_word_sentence_compares_the_word_with_unk():
    model = _model("lstm_c")
    ids, lengths = torch.tensor([[17]]), torch.tensor([1])
    target = torch.tensor([0])
    loo = leave_one_out(model, ids, lengths, target)
    expected = (
        class_probabilities(model, ids, lengths)[0, 0] - class_probabilities(model, torch.tensor([[1]]), lengths)[0, 0]
    )
    assert loo.shape == (1, 1) and torch.isfinite(loo).all()
    assert loo[0, 0].item() == pytest.approx(expected.item(), abs=1e-6)
    ig, delta = integrated_gradients(model, ids, lengths, target)
    assert ig.shape == (1, 1) and torch.isfinite(ig).all() and abs(delta.item()) < 1e-3


@pytest.mark.parametrize("name", summarizer_names())
def test_padding_changes_nothing(name):
    """A sentence's scores and states are the same alone as inside a padded batch, and padding
    scores exactly 0."""
    model = _model(name)
    ids, lengths = _batch()
    target = class_probabilities(model, ids, lengths).argmax(-1)
    loo = leave_one_out(model, ids, lengths, target)
    ig, _ = integrated_gradients(model, ids, lengths, target)
    readouts = read_states(model, ids, lengths)
    for b, n in enumerate(lengths.tolist()):
        alone_ids, alone_len = ids[b : b + 1, :n], lengths[b : b + 1]
        assert torch.equal(class_probabilities(model, alone_ids, alone_len).argmax(-1), target[b : b + 1])
        assert torch.allclose(leave_one_out(model, alone_ids, alone_len, target[b : b + 1])[0], loo[b, :n], atol=1e-6)
        assert torch.allclose(
            integrated_gradients(model, alone_ids, alone_len, target[b : b + 1])[0][0], ig[b, :n], atol=1e-6
        )
        assert (loo[b, n:] == 0).all() and (ig[b, n:] == 0).all()
        alone = read_states(model, alone_ids, alone_len)[0]
        assert alone.note == readouts[b].note
        assert [p.title for p in alone.panels] == [p.title for p in readouts[b].panels]
        for pa, pb in zip(alone.panels, readouts[b].panels):
            for sa, sb in zip(pa.series, pb.series):
                assert sa.label == sb.label and len(sa.values) == n
                assert np.allclose(sa.values, sb.values, atol=1e-5), (name, pa.title, sa.label)


def test_integrated_gradients_are_complete_once_enough_steps_are_taken():
    model = _model("lstm_c", seed=1)
    with torch.no_grad():  # a confident model: its probability jumps along the path
        model.head.out.weight.mul_(40)
    ids, lengths = _batch()
    target = class_probabilities(model, ids, lengths).argmax(-1)
    for b, n in enumerate(lengths.tolist()):
        scores, delta, steps = adaptive_integrated_gradients(
            model, ids[b : b + 1, :n], lengths[b : b + 1], target[b : b + 1], n_steps=10, tolerance=1e-3
        )
        assert abs(delta.item()) <= 1e-3 and steps >= 10


# ----------------------------------------------------------------------------- states
@pytest.mark.parametrize("name", GATED)
def test_gates_lie_in_0_1_and_the_recomputation_is_the_summarizers_own(name):
    model = _model(name)
    ids, lengths = _batch()
    readouts = read_states(model, ids, lengths)
    for readout, n in zip(readouts, lengths.tolist()):
        gates = [s for p in readout.panels if p.title.startswith("gates") for s in p.series]
        assert len(gates) == (4 if name == "bilstm" else 2)
        for series in gates:
            assert len(series.values) == n and (series.values >= 0).all() and (series.values <= 1).all()
        norms = [s for p in readout.panels if p.title == "state norms" for s in p.series]
        assert norms and all((s.values >= 0).all() for s in norms)
    summarizer = model.summarizer
    with torch.no_grad():
        x = model.embedding(ids)
        output = summarizer(x, lengths)
        if name == "bilstm":  # [forward h at the last real step, backward h at the first step]
            forward = lstm_recurrence(x, *_weights(summarizer.forward_layers[0]))["h"]
            backward = lstm_recurrence(reverse_within_length(x, lengths), *_weights(summarizer.backward_layers[0]))
            expected = torch.cat([gather_last(forward, lengths), gather_last(backward["h"], lengths)], -1)
            assert torch.allclose(output, expected, atol=1e-5)
            return
        rec = lstm_recurrence(summarizer.top_input(x), *summarizer.top_weights())
        h_last, c_last = gather_last(rec["h"], lengths), gather_last(rec["c"], lengths)
        expected = {"lstm_h": h_last, "lstm_c": c_last, "lstm_hc": torch.cat([h_last, c_last], -1)}.get(name)
        if name == "avg_ch":
            real = (torch.arange(7)[None, :] < lengths[:, None]).float().unsqueeze(-1)
            expected = torch.cat([(rec["c"] * real).sum(1), (rec["h"] * real).sum(1)], -1) / lengths[:, None]
        assert torch.allclose(output, expected, atol=1e-5)


def _weights(lstm):
    return lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0


def test_two_layer_lstm_recomputation_reads_the_top_layer():
    model = _model("lstm_hc", num_layers=2)
    ids, lengths = _batch()
    with torch.no_grad():
        x = model.embedding(ids)
        rec = lstm_recurrence(model.summarizer.top_input(x), *model.summarizer.top_weights())
        expected = torch.cat([gather_last(rec["h"], lengths), gather_last(rec["c"], lengths)], -1)
        assert torch.allclose(model.summarizer(x, lengths), expected, atol=1e-5)


def test_shares_and_weights_sum_to_one_and_mean_has_a_note():
    ids, lengths = _batch()
    for name, title in [
        ("avg_ch", "share of the summary"),
        ("attention", "attention weights"),
        ("max", "where each max came from"),
        ("swem_concat", "where each max came from"),
        ("bilstm_max", "where each max came from"),
        ("swem_hier", "where each max came from"),
        ("cnn", "where each max came from"),
    ]:
        for readout in read_states(_model(name), ids, lengths):
            if readout.note and not readout.panels:  # cnn with no positive filter: said, not drawn
                continue
            panel = next(p for p in readout.panels if p.title.startswith(title))
            assert sum(s.values.sum() for s in panel.series) == pytest.approx(1.0, abs=1e-5), name
    for readout in read_states(_model("mean"), ids, lengths):
        assert not readout.panels and "no state" in readout.note
    rnn = read_states(_model("rnn"), ids, lengths)[0]
    assert "no gates" in rnn.note and rnn.panels[0].series[0].label == "|h_t|"


# ----------------------------------------------------------------------------- the command
def _checkpoint(path: Path, name: str, texts: list[str], break_weights: bool = False) -> Path:
    """A checkpoint as src.train writes it (weights, hyperparameters, tokenizer, run facts), untrained."""
    from src.data.tokenizer import train_word_tokenizer

    tokenizer = train_word_tokenizer(texts)
    torch.manual_seed(0)
    model = SentenceClassifier(
        summarizer=_config(name),
        vocab_size=tokenizer.get_vocab_size(),
        num_classes=2,
        embedding={"dim": 8},
        head={"width": 8},
        unk_id=1,
        label_names=["negative", "positive"],
    )
    state = model.state_dict()
    if break_weights:
        state["embedding.weight"] = torch.zeros(3, 8)
    torch.save(
        {
            "state_dict": state,
            "hyper_parameters": dict(model.hparams),
            "seq2vec": {"tokenizer": tokenizer.to_str()},
            "seq2vec_run": {"summarizer_name": name, "seed": 0},
        },
        path,
    )
    return path


TEXTS = ["the plot was dull , but the acting was great .", "the acting was great , but the plot was dull ."]


def _inspect(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "src.inspect", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_command_writes_a_png_per_sentence_with_every_model(tmp_path):
    mean = _checkpoint(tmp_path / "mean.ckpt", "mean", TEXTS)
    lstm = _checkpoint(tmp_path / "lstm_c.ckpt", "lstm_c", TEXTS)
    sentences = tmp_path / "sentences.txt"
    sentences.write_text(TEXTS[0] + "\n\n" + "a wonderful , unseen film .\n")
    proc = _inspect(
        f"ckpt_path=[{mean},{lstm}]", f"input={sentences}", f"out_dir={tmp_path / 'out'}", "ig_steps=20", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    pngs = sorted((tmp_path / "out").glob("*.png"))
    assert [p.name for p in pngs] == ["01_the_plot_was_dull_but_the.png", "02_a_wonderful_unseen_film.png"]
    assert all(p.stat().st_size > 20_000 for p in pngs)
    out = proc.stdout
    assert out.count("  mean: ") == 2 and out.count("  lstm_c: ") == 2
    assert "leave-one-out:" in out and "integrated gradients:" in out
    assert "mean has no state over time" in out  # the summarizer without states: a note, not an error
    assert "Traceback" not in proc.stderr
    # one sentence with a comma on the command line (quoted for Hydra by the entry point), one PNG for all
    proc = _inspect(
        f"ckpt_path={lstm}",
        f"text={TEXTS[1]}",
        f"out_dir={tmp_path / 'one'}",
        "together=true",
        "name=pair.png",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "one" / "pair.png").stat().st_size > 20_000


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "not a checkpoint",
        "incompatible",
        "empty text",
        "no ckpt_path",
        "empty folder",
        "blank input file",
        "bad setting",
    ],
)
def test_command_errors_are_one_line(tmp_path, case):
    good = _checkpoint(tmp_path / "good.ckpt", "lstm_h", TEXTS)
    text = f"text={TEXTS[0]}"
    if case == "missing":
        args, expected = [f"ckpt_path={tmp_path / 'nope.ckpt'}", text], "checkpoint not found"
    elif case == "not a checkpoint":
        (tmp_path / "junk.ckpt").write_text("not a checkpoint")
        args, expected = [f"ckpt_path={tmp_path / 'junk.ckpt'}", text], "unreadable"
    elif case == "incompatible":
        bad = _checkpoint(tmp_path / "bad.ckpt", "lstm_h", TEXTS, break_weights=True)
        args, expected = [f"ckpt_path={bad}", text], "does not fit"
    elif case == "empty text":
        args, expected = [f"ckpt_path={good}", "text="], "the text is empty"
    elif case == "no ckpt_path":
        args, expected = [text], "give the model"
    elif case == "empty folder":
        (tmp_path / "empty").mkdir()
        args, expected = [f"ckpt_path={tmp_path / 'empty'}", text], "no checkpoint in"
    elif case == "blank input file":
        (tmp_path / "blank.txt").write_text("\n  \n")
        args, expected = [f"ckpt_path={good}", f"input={tmp_path / 'blank.txt'}"], "no sentence"
    else:
        args, expected = [f"ckpt_path={good}", text, "ig_steps=0"], "ig_steps must be a positive integer"
    proc = _inspect(*args, f"out_dir={tmp_path / 'out'}", cwd=tmp_path)
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-3000:])
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "text",
    [
        "the plot was dull , but the acting was great .",
        "it's fine , isn't it",
        'a \\ b , c\'s "d" ${oc.env:HOME} = [x] \\',
        "x\\'y",
    ],
)
def test_the_text_argument_reaches_the_config_verbatim(text):
    """Commas, quotes, backslashes and ${...} in text= are the sentence's, not Hydra's or OmegaConf's."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf

    from src.inspect.cli import quote_text_argument

    (override,) = OverridesParser.create().parse_overrides(quote_text_argument([f"text={text}"]))
    assert OmegaConf.create({"text": override.value()}).text == text
    assert quote_text_argument(["text='already quoted'", "ckpt_path=a,b"]) == ["text='already quoted'", "ckpt_path=a,b"]
