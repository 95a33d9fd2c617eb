"""``padding_efficiency_bucketed`` / ``_random``: real tokens / padded slots over one epoch of
training batches with and without length bucketing."""

from __future__ import annotations


def padding_efficiencies(datamodule, batch_size: int) -> dict:
    from src.data.batching import BucketBatchSampler, padding_efficiency

    lengths = datamodule.splits["train"].lengths
    out = {}
    for key, bucketing in (("padding_efficiency_bucketed", True), ("padding_efficiency_random", False)):
        sampler = BucketBatchSampler(lengths, batch_size, shuffle=True, seed=datamodule.seed, bucketing=bucketing)
        out[key] = padding_efficiency(lengths, list(sampler))
    return out
