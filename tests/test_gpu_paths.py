"""The GPU fast paths of issue 15, exercised on the CPU: batches padded to a few static shapes
(``data.pad_to_multiple``), the compiled forward pass (``model.compile``) and a training step that
never waits for the device (the deferred non-finite loss check). Their GPU timings need a GPU."""

from __future__ import annotations

import hydra
import pytest
import torch
from lightning import Trainer
from torch.overrides import TorchFunctionMode

from src.data.datamodule import TextDataModule
from src.model import loss_watch
from src.model.loss_watch import NonFiniteLossWatch
from src.model.module import SentenceClassifier, build_model
from src.summarizers.base import ConfigError
from src.utils.cli import check_settings
from src.utils.errors import NumericsError
from tests.helpers import SUMMARIZERS, compose_train_config, tiny

MULTIPLE = 16
MEAN = {"_target_": "src.summarizers.MeanSummarizer"}


def build(train_config, name: str, *overrides: str):
    cfg = train_config(*tiny(name), *overrides)
    torch.manual_seed(0)
    datamodule = hydra.utils.instantiate(cfg.data)
    datamodule.setup("fit")
    return datamodule, build_model(cfg, datamodule)


class HostReads(TorchFunctionMode):
    """Records the torch calls that read a tensor's value back to the host or size their output by
    the data: on CUDA each is a device->host sync, the host waiting for the GPU's queue to drain."""

    SYNCING = {"__bool__", "__int__", "__float__", "__index__", "item", "tolist", "numpy", "cpu"}
    SYNCING |= {"nonzero", "unique", "masked_select", "bincount", "repeat_interleave"}

    def __init__(self):
        super().__init__()
        self.reads: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if getattr(func, "__name__", "") in self.SYNCING:
            self.reads.append(func.__name__)
        return func(*args, **(kwargs or {}))


# --------------------------------------------------------------------------- static shapes
def test_pad_to_multiple_batches_are_the_default_batches_plus_padding_columns(train_config):
    default, _ = build(train_config, "mean")
    padded, _ = build(train_config, "mean", f"data.pad_to_multiple={MULTIPLE}")
    for split in ("train", "validation", "test"):
        shuffle = split == "train"  # the same sampler seed: the same examples in the same batches
        for plain, rounded in zip(default.dataloader(split, shuffle), padded.dataloader(split, shuffle), strict=True):
            width = plain["input_ids"].shape[1]
            assert rounded["input_ids"].shape[1] % MULTIPLE == 0
            assert 0 <= rounded["input_ids"].shape[1] - width < MULTIPLE
            assert torch.equal(rounded["input_ids"][:, :width], plain["input_ids"])
            assert not rounded["input_ids"][:, width:].any()  # [PAD] is id 0
            for key in plain.keys() - {"input_ids"}:  # true lengths, labels, indices: unchanged
                assert torch.equal(rounded[key], plain[key]), key


@pytest.mark.parametrize("name", SUMMARIZERS)
def test_padding_to_a_multiple_leaves_the_logits_unchanged(name, train_config):
    datamodule, model = build(train_config, name)
    model.eval()
    batch = next(iter(datamodule.val_dataloader()))
    ids, lengths = batch["input_ids"], batch["lengths"]
    width = -(-ids.shape[1] // MULTIPLE) * MULTIPLE
    padded = torch.nn.functional.pad(ids, (0, width - ids.shape[1] + MULTIPLE))  # one whole multiple more
    with torch.no_grad():
        torch.testing.assert_close(model(padded, lengths), model(ids, lengths), atol=1e-5, rtol=1e-5)


def test_bad_gpu_settings_are_one_line_config_errors(train_config):
    for override, message in (
        ("data.pad_to_multiple=0", "data.pad_to_multiple must be a positive integer or null, got 0"),
        ("model.compile=bogus", "model.compile must be null or one of default, reduce-overhead, max-autotune, "),
    ):
        with pytest.raises(ConfigError, match=message) as error:
            check_settings(train_config(*tiny("mean"), override))
        assert "\n" not in str(error.value)
    with pytest.raises(ConfigError, match=r"data.pad_to_multiple must be .* got True"):  # built without the CLI
        TextDataModule(source=dict, pad_to_multiple=True)
    with pytest.raises(ConfigError, match="model.compile must be .* got 'fast'"):
        SentenceClassifier(MEAN, vocab_size=9, num_classes=2, compile="fast")


def test_trainer_gpu_graphs_is_trainer_gpu_with_static_shapes_and_cuda_graphs():
    graphs, gpu, default = (compose_train_config(o) for o in (["trainer=gpu_graphs"], ["trainer=gpu"], []))
    assert graphs.trainer == gpu.trainer
    assert (graphs.data.pad_to_multiple, graphs.model.compile) == (8, "reduce-overhead")
    for plain in (gpu, default):  # elsewhere, and on the CPU by default: eager, batches as before
        assert (plain.data.pad_to_multiple, plain.model.compile) == (None, None)
    later = compose_train_config(["trainer=gpu_graphs", "data=mr", "model.compile=default", "data.pad_to_multiple=16"])
    assert (later.data.pad_to_multiple, later.model.compile) == (16, "default")


# --------------------------------------------------------------------------- compiled forward
@pytest.mark.slow
def test_the_compiled_model_trains_as_eager_and_saves_a_plain_checkpoint(train_config, tmp_path):
    """One static shape (50 examples a batch, every one padded to 64 tokens) and no dropout, whose
    masks inductor draws differently: after two training steps the logits match the eager model's."""
    settings = ["data.batch_size=50", "data.pad_to_multiple=64", "model.embedding.dropout=0", "model.head.dropout=0"]
    runs = {}
    for mode in ("null", "default"):
        datamodule, model = build(train_config, "mean", *settings, f"model.compile={mode}")
        trainer = Trainer(
            max_steps=2, limit_val_batches=0, logger=False, enable_checkpointing=False, enable_progress_bar=False
        )
        trainer.fit(model, datamodule=datamodule)
        runs[mode] = model, trainer
    (eager, _), (compiled, trainer) = runs["null"], runs["default"]
    path = tmp_path / "compiled.ckpt"
    trainer.save_checkpoint(path)
    saved = torch.load(path, map_location="cpu", weights_only=True)["state_dict"]
    assert saved.keys() == eager.state_dict().keys()  # no _orig_mod. prefixes
    assert "compile" not in torch.load(path, map_location="cpu", weights_only=True)["hyper_parameters"]
    loaded = SentenceClassifier.load_from_checkpoint(path)
    assert loaded._compiled_call_impl is None and compiled._compiled_call_impl is not None
    batch = next(iter(datamodule.test_dataloader()))
    for model in (eager, compiled, loaded):
        model.eval()
    with torch.no_grad():
        logits = {
            name: m(batch["input_ids"], batch["lengths"])
            for name, m in (("eager", eager), ("compiled", compiled), ("loaded", loaded))
        }
    torch.testing.assert_close(logits["loaded"], logits["compiled"], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(logits["compiled"], logits["eager"], atol=1e-4, rtol=1e-4)


# --------------------------------------------------------------------------- no host sync per step
def test_the_loss_watch_names_the_first_non_finite_loss_when_it_reads(monkeypatch):
    monkeypatch.setitem(loss_watch.STEPS_BETWEEN_CHECKS, "cpu", 4)  # the CUDA path, on CPU tensors
    watch = NonFiniteLossWatch()
    watch.check()  # nothing seen yet: nothing to read
    with HostReads() as spy:
        for step, loss in enumerate([0.7, float("nan"), float("inf")], start=10):
            watch.observe(torch.tensor(loss), step, 2, step - 10)
    assert spy.reads == []  # between checks, no value comes back to the host
    expected = r"^non-finite training loss \(nan\) at global step 11 \(epoch 2, batch 1\); lower model.optimizer.lr"
    with pytest.raises(NumericsError, match=expected):
        watch.observe(torch.tensor(0.5), 13, 2, 3)  # the 4th step reads, and names the first bad one
    watch.observe(torch.tensor(0.5), 14, 2, 4)
    watch.check()  # what a check reported is forgotten: finite since then


def test_a_training_step_reads_nothing_back_from_the_device(train_config, monkeypatch):
    """On CUDA every read below would make the host wait for the GPU; the step has none (the
    optimizer's and autograd's own are PyTorch's: fused AdamW keeps its step counts on the device)."""
    from src.callbacks import TrainThroughput

    monkeypatch.setitem(loss_watch.STEPS_BETWEEN_CHECKS, "cpu", 1000)  # as on CUDA
    datamodule, model = build(train_config, "lstm_hc")
    throughput, spy = TrainThroughput(), HostReads()

    def watched(hook):
        def call(*args, **kwargs):
            with spy:
                return hook(*args, **kwargs)

        return call

    for owner, hook in ((model, "training_step"), (model, "on_train_batch_end"), (throughput, "on_train_batch_end")):
        monkeypatch.setattr(owner, hook, watched(getattr(owner, hook)))
    trainer = Trainer(
        max_steps=3,
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        callbacks=[throughput],
    )
    trainer.fit(model, datamodule=datamodule)
    assert trainer.global_step == 3 and spy.reads == []
