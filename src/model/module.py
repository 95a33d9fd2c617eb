"""The LightningModule: learned word embeddings -> dropout -> summarizer -> residual MLP head.

Everything needed to rebuild the model (summarizer and optimizer configs included) is a plain
hyperparameter, and the tokenizer rides in the checkpoint, so ``load_from_checkpoint`` gives a
model that can read raw text.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import hydra
import torch
import torch.nn.functional as F
from lightning import LightningModule
from omegaconf import DictConfig, OmegaConf
from torch import nn
from torchmetrics import MaxMetric, MeanMetric
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score

from src.summarizers.base import ConfigError, check_dropout
from src.utils.errors import NumericsError
from src.utils.instantiate import root_cause

from .embedding import WordEmbedding
from .head import ResidualMLPHead
from .loss_watch import NonFiniteLossWatch
from .metrics import make_metric


def _plain(cfg: Any) -> Any:
    return OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else cfg


def prefer_fused(factory: Any) -> Any:
    """The optimizer factory with ``fused=True`` where the optimizer has a fused kernel (AdamW, Adam,
    SGD, Adagrad) and the config chose no implementation itself (``fused`` or ``foreach``).

    One kernel updates every parameter: on the 2-core CPU an AdamW step over MR's 5M parameters
    takes ~1/6 of the default's time, a large share of a small model's step. It is the same update
    up to float rounding (operations fused in another order; tests/test_model.py bounds the
    difference), so a run is exactly repeatable but not bitwise equal to one with ``foreach``."""
    if not isinstance(factory, functools.partial) or {"fused", "foreach"} & factory.keywords.keys():
        return factory
    if "fused" not in inspect.signature(factory.func).parameters:
        return factory
    return functools.partial(factory, fused=True)


ORDER_PROBE_SEED = 1234


def shuffle_words(
    input_ids: torch.Tensor, lengths: torch.Tensor, index: torch.Tensor, seed: int = ORDER_PROBE_SEED
) -> torch.Tensor:
    """Each row's real tokens in a random order that depends only on (seed, example index), so
    every model, batch order and device sees the same shuffled test set; padding stays at the end."""
    order = torch.arange(input_ids.shape[1]).repeat(input_ids.shape[0], 1)
    for row, (length, example) in enumerate(zip(lengths.tolist(), index.tolist())):
        generator = torch.Generator().manual_seed(seed * 1_000_003 + example)
        order[row, :length] = torch.randperm(length, generator=generator)
    return input_ids.gather(1, order.to(input_ids.device))


COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")  # torch.compile's


def check_compile_mode(mode: str | None) -> str | None:
    if mode is not None and mode not in COMPILE_MODES:
        raise ConfigError(f"model.compile must be null or one of {', '.join(COMPILE_MODES)}, got {mode!r}")
    return mode


class SentenceClassifier(LightningModule):
    """Token ids -> word vectors -> summarizer -> residual MLP head -> class logits.

    Args:
        summarizer: the ``summarizer`` config (``_target_`` and options), built here with
            ``input_dim = embedding.dim`` so that checkpoints rebuild it.
        vocab_size, num_classes, pad_id, unk_id, label_names, subset_names, metric: from the datamodule
            (``build_model`` passes them); ``metric`` (``data.metric``, ``src.model.metrics``) is logged
            as ``val/<metric>`` and ``test/<metric>`` beside val/acc, val/f1, test/acc and test/f1.
        embedding: ``WordEmbedding`` options: dim, dropout, word_dropout, init_std, pretrained_path, freeze.
        head: ``ResidualMLPHead`` options: width, depth, expansion, dropout, input_dropout, max_norm.
        optimizer, scheduler: partial Hydra configs (``_partial_: true``); the scheduler steps per
            epoch on ``scheduler_monitor``.
        label_smoothing: on the training loss only; validation and test losses stay plain.
        compile: a ``torch.compile`` mode for the forward pass (embedding -> summarizer -> head), or
            None to run eagerly. ``reduce-overhead`` replays CUDA graphs, one per batch shape (see
            ``data.pad_to_multiple``). Compiled in place (``nn.Module.compile``), so the state dict
            keeps its plain keys; not a hyperparameter: a checkpoint loads as an eager model.
    """

    def __init__(
        self,
        summarizer: dict,
        vocab_size: int,
        num_classes: int,
        embedding: dict | None = None,
        head: dict | None = None,
        optimizer: dict | None = None,
        scheduler: dict | None = None,
        scheduler_monitor: str = "val/acc",
        pad_id: int = 0,
        unk_id: int | None = None,
        label_smoothing: float = 0.0,
        label_names: list[str] | None = None,
        subset_names: list[str] | None = None,
        compile: str | None = None,
        metric: str = "accuracy",
    ):
        super().__init__()
        summarizer, embedding, head = _plain(summarizer), _plain(embedding) or {}, _plain(head) or {}
        optimizer, scheduler = _plain(optimizer), _plain(scheduler)
        self.save_hyperparameters(
            {
                "summarizer": summarizer,
                "vocab_size": vocab_size,
                "num_classes": num_classes,
                "embedding": embedding,
                "head": head,
                "optimizer": optimizer,
                "scheduler": scheduler,
                "scheduler_monitor": scheduler_monitor,
                "pad_id": pad_id,
                "unk_id": unk_id,
                "label_smoothing": label_smoothing,
                "label_names": list(label_names or [str(i) for i in range(num_classes)]),
                "subset_names": list(subset_names or []),
                "metric": metric,
            }
        )
        if num_classes < 2:
            raise ConfigError(f"need at least 2 classes, got {num_classes}")
        self.embedding = WordEmbedding(vocab_size, pad_id=pad_id, unk_id=unk_id, **embedding)
        check_dropout(label_smoothing, "SentenceClassifier", "model.label_smoothing")  # the same [0, 1) range
        self.summarizer = hydra.utils.instantiate(summarizer, input_dim=self.embedding.embedding_dim)
        self.head = ResidualMLPHead(self.summarizer.output_dim, num_classes, **head)
        if check_compile_mode(compile):
            self.compile(mode=compile)
        self.tokenizer_json: str | None = None  # set by the training script; saved in checkpoints
        self.resumed_val_acc_best: float | None = None  # best val/acc before a resume (metric states are not saved)

        classes = dict(num_classes=num_classes)
        # The training metrics skip their own input checks, each a device->host sync per step: the
        # loss watch stops on a NaN loss, and argmax predictions are valid classes by construction.
        self.train_loss = MeanMetric(nan_strategy="disable")
        self.val_loss, self.test_loss = MeanMetric(), MeanMetric()
        self.train_acc = MulticlassAccuracy(**classes, average="micro", validate_args=False)
        self._loss_watch = NonFiniteLossWatch()
        self.val_acc = MulticlassAccuracy(**classes, average="micro")
        self.val_f1 = MulticlassF1Score(**classes, average="macro")
        self.val_acc_best = MaxMetric()
        self.test_acc = MulticlassAccuracy(**classes, average="micro")
        self.test_f1 = MulticlassF1Score(**classes, average="macro")
        # the set's own metric (data.metric, src.model.metrics), logged as val/<metric> and test/<metric>
        self.val_metric = make_metric(self.hparams.metric, num_classes)
        self.test_metric = make_metric(self.hparams.metric, num_classes)
        self.test_subset_acc = nn.ModuleList(
            MulticlassAccuracy(**classes, average="micro") for _ in self.hparams.subset_names
        )
        # Order probe: accuracy on the test set with each sentence's words shuffled (shuffle_words).
        self.test_acc_shuffled = MulticlassAccuracy(**classes, average="micro")
        self.test_predictions: dict[str, list] | None = None  # per test example, for the sweep report
        self._test_rows: list[dict[str, torch.Tensor]] = []

    # ------------------------------------------------------------------ model
    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.head(self.summarizer(self.embedding(input_ids), lengths))

    def _step(self, batch):
        logits = self(batch["input_ids"], batch["lengths"])
        smoothing = self.hparams.label_smoothing if self.training else 0.0  # val/test losses stay comparable
        loss = F.cross_entropy(logits, batch["label"], label_smoothing=smoothing)
        return loss, logits.argmax(dim=-1)

    # ------------------------------------------------------------------ loops
    def on_train_start(self) -> None:
        self.val_acc_best.reset()  # the sanity check must not count as a best
        if self.resumed_val_acc_best is not None:  # a resumed run keeps the best seen before the crash
            self.val_acc_best.update(torch.tensor(self.resumed_val_acc_best, device=self.device))

    def training_step(self, batch, batch_idx):
        loss, preds = self._step(batch)
        self._loss_watch.observe(loss, self.global_step, self.current_epoch, batch_idx)
        self.train_loss.update(loss)  # update, not forward: no per-batch value, which nothing logs
        self.train_acc.update(preds, batch["label"])
        return loss

    def on_train_batch_end(self, outputs, batch, batch_idx) -> None:
        self.head.apply_max_norm()  # after the optimizer step: Kim's constraint, off unless model.head.max_norm

    def on_train_epoch_end(self) -> None:
        self._loss_watch.check()  # before the checkpoint callbacks, which run after this hook
        # Handed to self.log once an epoch, not every step: each call walks the metric's state to
        # move it to the device, about 1 ms a step on the CPU (docs/performance.md). Lightning still
        # computes them lazily, so under DDP every rank syncs them at the same point (an explicit
        # compute() here would be a collective that rank 0's progress bar can overtake: a deadlock),
        # and resets them after the epoch (tests/test_model.py checks each epoch's value is its own).
        self.log("train/loss", self.train_loss, prog_bar=True)
        self.log("train/acc", self.train_acc)

    def on_validation_epoch_start(self) -> None:
        self._loss_watch.check()  # a NaN from training is named as such, not as a validation loss

    def validation_step(self, batch, batch_idx):
        loss, preds = self._step(batch)
        if not torch.isfinite(loss):  # stop before a checkpoint can store the broken weights
            raise NumericsError(
                f"non-finite validation loss ({loss.item()}) after global step {self.global_step} "
                f"(epoch {self.current_epoch}, validation batch {batch_idx}); earlier checkpoints are kept; "
                "lower model.optimizer.lr or check the data"
            )
        self.val_loss(loss)
        self.val_acc(preds, batch["label"])
        self.val_f1(preds, batch["label"])
        self.val_metric(preds, batch["label"])
        self.log("val/loss", self.val_loss, on_step=False, on_epoch=True, prog_bar=True)
        self.log("val/acc", self.val_acc, on_step=False, on_epoch=True, prog_bar=True)
        self.log("val/f1", self.val_f1, on_step=False, on_epoch=True)
        self.log(f"val/{self.hparams.metric}", self.val_metric, on_step=False, on_epoch=True)

    def on_validation_epoch_end(self) -> None:
        self.val_acc_best(self.val_acc.compute())
        self.log("val/acc_best", self.val_acc_best.compute(), sync_dist=True, prog_bar=True)

    def test_step(self, batch, batch_idx):
        loss, preds = self._step(batch)
        labels = batch["label"]
        self.test_loss(loss)
        self.test_acc(preds, labels)
        self.test_f1(preds, labels)
        self.test_metric(preds, labels)
        self.log("test/loss", self.test_loss, on_step=False, on_epoch=True)
        self.log("test/acc", self.test_acc, on_step=False, on_epoch=True)
        self.log("test/f1", self.test_f1, on_step=False, on_epoch=True)
        self.log(f"test/{self.hparams.metric}", self.test_metric, on_step=False, on_epoch=True)
        if "subset" in batch:
            for i, metric in enumerate(self.test_subset_acc):
                mask = batch["subset"] == i
                if mask.any():
                    metric.update(preds[mask], labels[mask])
        shuffled = shuffle_words(batch["input_ids"], batch["lengths"], batch["index"])
        preds_shuffled = self(shuffled, batch["lengths"]).argmax(dim=-1)
        self.test_acc_shuffled(preds_shuffled, labels)
        self.log("test/acc_shuffled", self.test_acc_shuffled, on_step=False, on_epoch=True)
        rows = {
            "index": batch["index"],
            "label": labels,
            "pred": preds,
            "pred_shuffled": preds_shuffled,
            "length": batch["lengths"],
        }
        if "subset" in batch:
            rows["subset"] = batch["subset"]
        if "distance" in batch:  # tokens after the deciding word (-1: none), for the report's memory curve
            rows["distance"] = batch["distance"]
        if "full_length" in batch:  # tokens before truncation, for accuracy by a long document's real length
            rows["full_length"] = batch["full_length"]
        self._test_rows.append({k: v.detach().cpu() for k, v in rows.items()})

    def on_test_epoch_start(self) -> None:
        self._test_rows = []

    def on_test_epoch_end(self) -> None:
        if self._test_rows:  # this rank's examples; src.train writes them to predictions.csv
            self.test_predictions = {k: torch.cat([r[k] for r in self._test_rows]).tolist() for k in self._test_rows[0]}
            if "subset" in self.test_predictions:
                self.test_predictions["subset"] = [
                    self.hparams.subset_names[i] for i in self.test_predictions["subset"]
                ]
            self._test_rows = []
        for name, metric in zip(self.hparams.subset_names, self.test_subset_acc):
            if metric.update_count:
                self.log(f"test/acc_{name}", metric.compute(), sync_dist=True)
            metric.reset()

    # ------------------------------------------------------------------ optimisation
    def configure_optimizers(self):
        opt_cfg = self.hparams.optimizer or {"_target_": "torch.optim.AdamW", "_partial_": True, "lr": 1e-3}
        factory = prefer_fused(hydra.utils.instantiate(opt_cfg))
        optimizer = factory(params=[p for p in self.parameters() if p.requires_grad])
        if not self.hparams.scheduler:
            return optimizer
        scheduler = hydra.utils.instantiate(self.hparams.scheduler)(optimizer=optimizer)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {
                "scheduler": scheduler,
                "monitor": self.hparams.scheduler_monitor,
                "interval": "epoch",
                "frequency": 1,
            },
        }

    # ------------------------------------------------------------------ checkpoint extras
    def on_save_checkpoint(self, checkpoint: dict) -> None:
        self._loss_watch.check()  # never store weights that a non-finite loss has already broken
        best = float(self.val_acc_best.max_value)
        checkpoint["seq2vec"] = {
            "tokenizer": self.tokenizer_json,
            "val_acc_best": best if best != float("-inf") else None,
        }

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.tokenizer_json = checkpoint.get("seq2vec", {}).get("tokenizer")
        self.resumed_val_acc_best = checkpoint.get("seq2vec", {}).get("val_acc_best")

    def load_pretrained_embeddings(self, tokenizer) -> int:
        """``model.embedding.pretrained_path`` vectors into the table (see ``WordEmbedding.load_pretrained``).
        Called once by the training script: checkpoints hold the weights, so ``load_from_checkpoint``
        needs no file. Returns the number of words found."""
        return self.embedding.load_pretrained(tokenizer)

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


def build_model(cfg: DictConfig, datamodule) -> SentenceClassifier:
    """The model ``cfg`` describes, sized from a set-up datamodule (vocabulary, classes, subsets),
    carrying its tokenizer so checkpoints can read raw text. One place for train, bench and tests."""
    try:
        model = hydra.utils.instantiate(
            cfg.model,
            summarizer=cfg.summarizer,
            vocab_size=datamodule.vocab_size,
            num_classes=datamodule.num_classes,
            pad_id=datamodule.pad_id,
            unk_id=datamodule.unk_id,
            label_names=datamodule.label_names,
            subset_names=datamodule.subset_names,
            metric=datamodule.metric,
        )
    except Exception as exc:
        cause = root_cause(exc)  # sizes too large to allocate, or even to count in 64 bits
        too_large = ("can't allocate memory", "overflow", "Overflow")
        if not isinstance(cause, (RuntimeError, OverflowError, TypeError, MemoryError)) or not any(
            word in str(cause) for word in too_large
        ):
            raise
        raise ConfigError(
            f"the model is too large to build (model.embedding.dim={cfg.model.embedding.dim}, vocabulary "
            f"{datamodule.vocab_size:,}, model.head.width={OmegaConf.select(cfg, 'model.head.width')}): "
            f"{str(cause).strip().splitlines()[0].split('DefaultCPUAllocator: ')[-1].split('. Error code')[0]}"
        ) from exc
    model.tokenizer_json = datamodule.tokenizer.to_str()
    return model
