"""Pretrained word vectors: the text formats (GloVe, word2vec header, .gz), lower-cased matching,
coverage, exact rows in the model, freezing, clear errors, and checkpoints that reload without the
vectors file."""

from __future__ import annotations

import gzip
import logging
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch

from src.data.datamodule import DataError, FilesDataModule
from src.data.vectors import pretrained_embedding_rows, read_word_vectors
from src.model.module import SentenceClassifier

DIM = 4
VECTORS = {  # file word -> vector; "The" and "the" are case variants of one vocabulary word
    "The": [9.0, 9.0, 9.0, 9.0],
    "the": [0.1, 0.2, 0.3, 0.4],
    "Film": [1.0, -1.0, 0.5, -0.5],
    "good": [0.25, 0.5, 0.75, 1.0],
    "zebra": [7.0, 7.0, 7.0, 7.0],  # not in the vocabulary
    ". . .": [3.0, 3.0, 3.0, 3.0],  # a "word" with spaces, as in GloVe 840B
}


def write_vectors(path: Path, header: bool = False, vectors=VECTORS) -> Path:
    lines = ([f"{len(vectors)} {DIM}"] if header else []) + [
        f"{w} " + " ".join(repr(x) for x in v) for w, v in vectors.items()
    ]
    data = ("\n".join(lines) + "\n").encode()
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


VOCAB = {"[PAD]": 0, "[UNK]": 1, "the": 2, "film": 3, "good": 4, "bad": 5, ". . .": 6}


@pytest.mark.parametrize(
    "name, header", [("glove.txt", False), ("w2v.txt", True), ("glove.txt.gz", False), ("w2v.vec.gz", True)]
)
def test_formats_and_lower_cased_matching(tmp_path, name, header):
    ids, vectors, dim = read_word_vectors(write_vectors(tmp_path / name, header), VOCAB)
    assert dim == DIM
    found = {int(i): v.tolist() for i, v in zip(ids, vectors)}
    assert found == {
        2: pytest.approx(VECTORS["the"]),  # the exact lower-case entry wins over "The"
        3: pytest.approx(VECTORS["Film"]),  # "Film" matches "film" (lower-cased)
        4: pytest.approx(VECTORS["good"]),
        6: pytest.approx(VECTORS[". . ."]),
    }


def test_case_sensitive_matching(tmp_path):
    ids, vectors, _ = read_word_vectors(write_vectors(tmp_path / "v.txt"), {"The": 0, "film": 1}, lowercase=False)
    assert ids.tolist() == [0] and vectors[0].tolist() == VECTORS["The"]


def test_coverage_is_reported_and_special_tokens_are_skipped(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="src.data.vectors"):
        ids, _ = pretrained_embedding_rows(write_vectors(tmp_path / "v.txt"), VOCAB, DIM)
    assert "found 4 of 5 words (80.0%)" in caplog.text  # [PAD] and [UNK] are not words
    assert 0 not in ids and 1 not in ids


def test_dimension_mismatch_is_a_clear_error(tmp_path):
    with pytest.raises(
        DataError,
        match=r"holds 4-dimensional vectors but model.embedding.dim=8; "
        r"set model.embedding.dim=4",
    ):
        pretrained_embedding_rows(write_vectors(tmp_path / "v.txt"), VOCAB, 8)


def test_no_match_is_a_clear_error(tmp_path):
    path = write_vectors(tmp_path / "v.txt", vectors={"zebra": [1.0] * DIM})
    with pytest.raises(DataError, match=r"none of the 5 vocabulary words has a vector"):
        pretrained_embedding_rows(path, VOCAB, DIM)


def test_bad_files(tmp_path):
    ragged = tmp_path / "ragged.txt"
    ragged.write_text("the 1 2 3 4\nfilm 1 2\n")
    with pytest.raises(DataError, match=r"ragged.txt: line 2 has 2 numbers, expected 4"):
        read_word_vectors(ragged, VOCAB)
    with pytest.raises(DataError, match=r"model.embedding.pretrained_path: no such file"):
        read_word_vectors(tmp_path / "absent.txt", VOCAB)
    with pytest.raises(DataError, match="binary word2vec files are not supported"):
        (tmp_path / "w.bin").write_bytes(b"\x00")
        read_word_vectors(tmp_path / "w.bin", VOCAB)
    not_text = tmp_path / "latin.txt"
    not_text.write_bytes("the 1 2 3 4\ncaf\xe9 1 2 3 4\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin.txt: not valid UTF-8 on line 2"):
        read_word_vectors(not_text, VOCAB)
    with pytest.raises(DataError, match=r"nan.txt: line 1 has a value that is not a number"):
        (tmp_path / "nan.txt").write_text("the 1 2 x 4\n")
        read_word_vectors(tmp_path / "nan.txt", VOCAB)


# --------------------------------------------------------------------------- in the model
@pytest.fixture
def data(tmp_path) -> FilesDataModule:
    path = tmp_path / "train.csv"
    path.write_text("text,label\n" + "The good film,1\nthe bad film,0\n" * 10)
    dm = FilesDataModule(train_file=str(path), cache_dir=None, batch_size=4)
    dm.setup()
    return dm


def model_for(dm, vectors: Path | None, freeze: bool = False) -> SentenceClassifier:
    torch.manual_seed(0)
    return SentenceClassifier(
        summarizer={"_target_": "src.summarizers.MeanSummarizer"},
        vocab_size=dm.vocab_size,
        num_classes=dm.num_classes,
        embedding={"dim": DIM, "dropout": 0.0, "freeze": freeze, "pretrained_path": str(vectors) if vectors else None},
        head={"width": 8, "depth": 1},
        label_names=dm.label_names,
    )


def test_model_rows_are_the_file_vectors(tmp_path, data):
    model = model_for(data, write_vectors(tmp_path / "v.txt.gz"))
    assert model.load_pretrained_embeddings(data.tokenizer) == 3  # the, film, good ("bad" has none)
    weight = model.embedding.weight.detach()
    vocab = data.tokenizer.get_vocab()
    for word, source in (("the", "the"), ("film", "Film"), ("good", "good")):
        assert weight[vocab[word]].tolist() == pytest.approx(VECTORS[source])
    assert weight[0].abs().sum() == 0  # [PAD]
    # the rest start random at the scale of the pretrained vectors, not N(0, 1)
    found_std = float(np.std([VECTORS[w] for w in ("the", "Film", "good")]))
    others = weight[[vocab["bad"], vocab["[UNK]"]]]
    assert 0 < others.abs().max() < 6 * found_std
    assert model_for(data, None).load_pretrained_embeddings(data.tokenizer) == 0


def test_freeze_keeps_the_vectors_fixed_and_checkpoints_reload_without_the_file(tmp_path, data):
    vectors = write_vectors(tmp_path / "v.txt")
    for freeze in (True, False):
        model = model_for(data, vectors, freeze=freeze)
        model.load_pretrained_embeddings(data.tokenizer)
        before = model.embedding.weight.detach().clone()
        trainer = L.Trainer(
            max_epochs=2,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            accelerator="cpu",
        )
        trainer.fit(model, datamodule=data)
        changed = not torch.equal(before, model.embedding.weight.detach())
        assert changed is (not freeze)
        assert (model.num_parameters == sum(p.numel() for p in model.parameters()) - before.numel()) is freeze
        path = tmp_path / f"model-{freeze}.ckpt"
        trainer.save_checkpoint(path)
    vectors.unlink()  # the checkpoint holds the weights: no vectors file needed any more
    restored = SentenceClassifier.load_from_checkpoint(tmp_path / "model-True.ckpt")
    assert torch.equal(restored.embedding.weight, model_for(data, None).embedding.weight) is False
    assert restored.embedding.weight.requires_grad is False
    assert restored.embedding.weight[data.tokenizer.token_to_id("good")].tolist() == pytest.approx(VECTORS["good"])
