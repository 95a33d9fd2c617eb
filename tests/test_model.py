"""The full model, built from the real configs: every summarizer trains, the head is sized from it."""

from __future__ import annotations

import hydra
import pytest
import torch

from src.model.head import ResidualMLPHead
from src.model.module import SentenceClassifier, build_model
from src.summarizers.base import ConfigError
from tests.helpers import SUMMARIZERS, tiny


def build(train_config, name: str, *overrides: str):
    cfg = train_config(*tiny(name), *overrides)
    torch.manual_seed(0)
    datamodule = hydra.utils.instantiate(cfg.data)
    datamodule.setup("fit")
    return cfg, datamodule, build_model(cfg, datamodule)


def quiet_trainer(**settings):
    """A Lightning trainer that writes nothing: no logger, checkpoints or progress bar."""
    import lightning as L

    return L.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False, **settings)


@pytest.mark.parametrize("name", SUMMARIZERS)
def test_each_config_builds_and_a_few_steps_lower_the_loss(name, train_config):
    cfg, datamodule, model = build(train_config, name)
    assert model.head.project.in_features == model.summarizer.output_dim
    batch = next(iter(datamodule.train_dataloader()))
    summary = model.summarizer(model.embedding(batch["input_ids"]), batch["lengths"])
    assert summary.shape == (batch["input_ids"].size(0), model.summarizer.output_dim)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.eval()  # dropout off: this checks that gradients reach every parameter and help
    losses = []
    for _ in range(60):  # max pooling's sparse gradients need more than 30 steps to memorise a batch
        loss, _ = model._step(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0], losses


def test_padding_tokens_do_not_change_the_logits(train_config):
    _, datamodule, model = build(train_config, "avg_ch")
    model.eval()
    batch = next(iter(datamodule.val_dataloader()))
    ids, lengths = batch["input_ids"], batch["lengths"]
    longer = torch.cat([ids, torch.randint(2, datamodule.vocab_size, (ids.size(0), 7))], dim=1)
    torch.testing.assert_close(model(ids, lengths), model(longer, lengths), atol=1e-5, rtol=0)


def test_residual_head_blocks_are_residual():
    head = ResidualMLPHead(input_dim=5, num_classes=3, width=8, depth=2, dropout=0.0)
    for block in head.blocks:  # zeroing the MLP's last layer makes a block the identity
        torch.nn.init.zeros_(block.mlp[3].weight)
        torch.nn.init.zeros_(block.mlp[3].bias)
    x = torch.randn(4, 8)
    torch.testing.assert_close(head.blocks(x), x)
    assert head(torch.randn(4, 5)).shape == (4, 3)


def test_checkpoint_rebuilds_the_model_and_keeps_the_tokenizer(train_config, tmp_path):
    from src.model.module import SentenceClassifier

    _, datamodule, model = build(train_config, "lstm_hc")
    trainer = quiet_trainer(
        max_epochs=1,
        limit_train_batches=2,
        limit_val_batches=1,
        use_distributed_sampler=False,
    )
    trainer.fit(model, datamodule=datamodule)
    path = tmp_path / "model.ckpt"
    trainer.save_checkpoint(path)
    loaded = SentenceClassifier.load_from_checkpoint(path)
    assert loaded.tokenizer_json == model.tokenizer_json
    assert loaded.hparams.label_names == ["negative", "positive"]
    batch = next(iter(datamodule.test_dataloader()))
    model.eval()
    loaded.eval()
    torch.testing.assert_close(
        loaded(batch["input_ids"], batch["lengths"]), model(batch["input_ids"], batch["lengths"])
    )


def _spy_on_embedding_ids(monkeypatch) -> list[torch.Tensor]:
    """The ids the embedding table is looked up with (after word dropout)."""
    seen: list[torch.Tensor] = []
    lookup = torch.nn.Embedding.forward

    def spy(module, ids):
        seen.append(ids.clone())
        return lookup(module, ids)

    monkeypatch.setattr(torch.nn.Embedding, "forward", spy)
    return seen


def bare_model(**kwargs) -> SentenceClassifier:
    """A model built without data, for checks of its own arguments."""
    return SentenceClassifier(
        summarizer={"_target_": "src.summarizers.MeanSummarizer"}, **{"vocab_size": 10, "num_classes": 2, **kwargs}
    )


def test_word_dropout_replaces_real_tokens_by_unk_only_in_training(train_config, monkeypatch):
    _, datamodule, model = build(train_config, "mean", "model.embedding.word_dropout=0.3")
    assert model.hparams.unk_id == datamodule.tokenizer.token_to_id("[UNK]") != model.hparams.pad_id
    batch = next(iter(datamodule.train_dataloader()))
    ids, lengths = batch["input_ids"], batch["lengths"]
    seen = _spy_on_embedding_ids(monkeypatch)
    real = torch.arange(ids.shape[1])[None, :] < lengths[:, None]
    torch.manual_seed(0)
    model.train()
    model(ids, lengths)
    changed = seen[-1] != ids
    assert (seen[-1][changed] == model.hparams.unk_id).all()  # a dropped word becomes [UNK] ...
    assert not (changed & ~real).any()  # ... and padding is never touched
    rate = changed.sum().item() / (real & (ids != model.hparams.unk_id)).sum().item()
    assert 0.2 < rate < 0.4, rate  # at about the configured rate
    model.eval()
    model(ids, lengths)
    assert torch.equal(seen[-1], ids)  # evaluation sees every word


def test_word_dropout_without_an_unk_id_is_a_config_error():
    with pytest.raises(ConfigError, match="word_dropout"):
        bare_model(embedding={"dim": 4, "word_dropout": 0.1})
    with pytest.raises(ConfigError, match="word_dropout"):
        bare_model(embedding={"dim": 4, "word_dropout": 1.0}, unk_id=1)


def test_label_smoothing_changes_the_training_loss_only(train_config):
    losses = {}
    for smoothing in (0.0, 0.2):
        _, datamodule, model = build(
            train_config,
            "lstm_h",
            f"model.label_smoothing={smoothing}",
            "model.embedding.dropout=0",
            "model.head.dropout=0",
        )
        batch = next(iter(datamodule.train_dataloader()))
        model.train()
        train_loss = model._step(batch)[0].item()
        model.eval()
        losses[smoothing] = (train_loss, model._step(batch)[0].item())
    assert losses[0.2][0] != pytest.approx(losses[0.0][0])  # smoothing enters the training loss
    assert losses[0.2][1] == pytest.approx(losses[0.0][1])  # evaluation loss is plain cross-entropy
    with pytest.raises(ConfigError, match="label_smoothing"):
        bare_model(label_smoothing=1.0)


def test_head_input_dropout_drops_summary_features_in_training_only():
    head = ResidualMLPHead(input_dim=6, num_classes=3, width=8, depth=1, dropout=0.0, input_dropout=0.5)
    seen: list[torch.Tensor] = []
    head.project.register_forward_hook(lambda module, args, out: seen.append(args[0].clone()))
    summary = torch.ones(64, 6)
    head.train()
    head(summary)
    zeros = (seen[-1] == 0).float().mean().item()
    assert 0.35 < zeros < 0.65, zeros
    head.eval()
    head(summary)
    assert torch.equal(seen[-1], summary)


def test_embedding_init_std_sets_the_scale_of_the_random_vectors():
    def vectors(**embedding):
        torch.manual_seed(0)
        return bare_model(vocab_size=2000, embedding={"dim": 64, **embedding}).embedding.weight.detach()

    assert vectors()[1:].std().item() == pytest.approx(1.0, abs=0.02)  # PyTorch's N(0, 1) by default
    small = vectors(init_std=0.1)
    assert small[1:].std().item() == pytest.approx(0.1, abs=0.002)
    assert small[0].abs().sum() == 0  # [PAD] stays zero
    for bad in (0, -0.1, "big", True):
        with pytest.raises(ConfigError, match="init_std"):
            vectors(init_std=bad)


def test_a_linear_head_is_kims_softmax_layer_on_the_dropped_out_summary():
    head = ResidualMLPHead(input_dim=6, num_classes=3, width=None, depth=0, input_dropout=0.0).eval()
    summary = torch.randn(4, 6)
    torch.testing.assert_close(head(summary), summary @ head.out.weight.T + head.out.bias)
    assert sum(p.numel() for p in head.parameters()) == 6 * 3 + 3
    with pytest.raises(ConfigError, match="needs depth=0"):
        ResidualMLPHead(input_dim=6, num_classes=3, width=None, depth=1)


def test_max_norm_caps_each_class_weight_vector_after_every_training_step(train_config):
    """Kim's constraint: rows of the output layer above the cap are scaled onto it, rows below are
    left alone; it runs after the optimizer step inside a real fit."""
    head = ResidualMLPHead(input_dim=4, num_classes=3, width=None, depth=0, max_norm=3.0)
    with torch.no_grad():
        head.out.weight.copy_(torch.tensor([[6.0, 8.0, 0, 0], [1.0, 0, 0, 0], [0, 0, 3.0, 4.0]]))
    head.apply_max_norm()
    torch.testing.assert_close(head.out.weight.norm(dim=1), torch.tensor([3.0, 1.0, 3.0]))
    torch.testing.assert_close(head.out.weight[0], torch.tensor([1.8, 2.4, 0, 0]))  # direction kept
    for bad in (0, -1.0, "3", True):
        with pytest.raises(ConfigError, match="max_norm"):
            ResidualMLPHead(input_dim=4, num_classes=3, max_norm=bad)

    cfg, datamodule, model = build(
        train_config,
        "cnn",
        "model.head.width=null",
        "model.head.depth=0",
        "model.head.max_norm=0.05",
        "model.optimizer.lr=0.5",
    )
    trainer = quiet_trainer(max_steps=3, num_sanity_val_steps=0, limit_val_batches=0)
    trainer.fit(model, datamodule=datamodule)
    assert model.head.out.weight.norm(dim=1).max().item() <= 0.05 + 1e-6


def test_the_optimizer_runs_its_fused_kernel_unless_the_config_chose_or_it_has_none():
    import functools

    from src.model.module import prefer_fused

    adamw = functools.partial(torch.optim.AdamW, lr=1e-3)
    assert prefer_fused(adamw).keywords["fused"] is True
    for chosen in ({"foreach": True}, {"fused": False}):  # the config's own choice stays
        assert prefer_fused(functools.partial(torch.optim.AdamW, **chosen)).keywords == chosen
    adadelta = functools.partial(torch.optim.Adadelta, lr=1.0)  # no fused kernel (experiment=kim2014)
    assert prefer_fused(adadelta) is adadelta
    assert "fused" not in prefer_fused(adadelta).keywords


def test_the_default_optimizer_is_fused_and_matches_the_foreach_update_to_float_rounding(train_config):
    weights = []
    for implementation in ("fused", "foreach"):
        _, datamodule, model = build(train_config, "lstm_h")  # the same initial weights both times
        batch = next(iter(datamodule.train_dataloader()))
        optimizer = model.configure_optimizers()
        optimizer = optimizer["optimizer"] if isinstance(optimizer, dict) else optimizer
        assert optimizer.defaults["fused"] is True
        if implementation == "foreach":  # the same optimizer and settings; only the implementation differs
            settings = {k: v for k, v in optimizer.defaults.items() if k != "decoupled_weight_decay"}
            optimizer = type(optimizer)(model.parameters(), **{**settings, "fused": None, "foreach": True})
        model.eval()
        for _ in range(5):
            optimizer.zero_grad()
            model._step(batch)[0].backward()
            optimizer.step()
        weights.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert torch.allclose(weights[0], weights[1], rtol=1e-5, atol=1e-6)


def test_train_loss_and_accuracy_are_each_epochs_own(train_config):
    """Logged once an epoch: the value after epoch 2 is the mean over epoch 2's batches alone."""
    import lightning as L

    _, datamodule, model = build(train_config, "mean")

    class BatchLosses(L.Callback):
        def __init__(self):
            self.by_epoch = {}

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            self.by_epoch.setdefault(trainer.current_epoch, []).append(outputs["loss"].item())

    losses = BatchLosses()
    trainer = quiet_trainer(max_epochs=2, num_sanity_val_steps=0, callbacks=[losses])
    trainer.fit(model, datamodule=datamodule)
    last, first = losses.by_epoch[1], losses.by_epoch[0]
    assert sum(first) / len(first) != pytest.approx(sum(last) / len(last), rel=1e-3)  # the test can tell
    assert trainer.callback_metrics["train/loss"].item() == pytest.approx(sum(last) / len(last), rel=1e-5)
    assert 0.0 <= trainer.callback_metrics["train/acc"].item() <= 1.0
