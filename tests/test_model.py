"""The full model, built from the real configs: every summarizer trains, the head is sized from it."""
from __future__ import annotations

import hydra
import pytest
import torch

from src.model.head import ResidualMLPHead
from src.model.module import build_model
from tests.conftest import SUMMARIZERS, tiny


def build(train_config, name: str):
    cfg = train_config(*tiny(name))
    torch.manual_seed(0)
    datamodule = hydra.utils.instantiate(cfg.data)
    datamodule.setup("fit")
    return cfg, datamodule, build_model(cfg, datamodule)


@pytest.mark.parametrize("name", SUMMARIZERS)
def test_each_config_builds_and_a_few_steps_lower_the_loss(name, train_config):
    cfg, datamodule, model = build(train_config, name)
    assert model.head.project.in_features == model.summarizer.output_dim
    expected_dim = {"mean": 16, "rnn": 16, "lstm_h": 16, "lstm_c": 16, "lstm_hc": 32, "bilstm": 32, "avg_ch": 32}
    assert model.summarizer.output_dim == expected_dim[name]
    batch = next(iter(datamodule.train_dataloader()))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.eval()  # dropout off: this checks that gradients reach every parameter and help
    losses = []
    for _ in range(30):
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
    from lightning import Trainer

    from src.model.module import SentenceClassifier

    _, datamodule, model = build(train_config, "lstm_hc")
    trainer = Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                      limit_train_batches=2, limit_val_batches=1, use_distributed_sampler=False)
    trainer.fit(model, datamodule=datamodule)
    path = tmp_path / "model.ckpt"
    trainer.save_checkpoint(path)
    loaded = SentenceClassifier.load_from_checkpoint(path)
    assert loaded.tokenizer_json == model.tokenizer_json
    assert loaded.hparams.label_names == ["negative", "positive"]
    batch = next(iter(datamodule.test_dataloader()))
    model.eval()
    loaded.eval()
    torch.testing.assert_close(loaded(batch["input_ids"], batch["lengths"]),
                               model(batch["input_ids"], batch["lengths"]))
