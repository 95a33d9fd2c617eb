"""Seq2Vec summarizers: [B, T, E] word vectors + lengths -> [B, output_dim]. See ``base``; the list of
configs lives in ``registry`` (conf/summarizer/*.yaml)."""

from .attention import AttentionSummarizer
from .base import ConfigError, Summarizer
from .convolution import CNNSummarizer
from .pooling import MaxSummarizer, MeanSummarizer, SWEMConcatSummarizer, SWEMHierSummarizer
from .recurrent import AvgCHSummarizer, BiLSTMMaxSummarizer, BiLSTMSummarizer, LSTMSummarizer, RNNSummarizer

__all__ = [
    "ConfigError",
    "Summarizer",
    "MeanSummarizer",
    "RNNSummarizer",
    "LSTMSummarizer",
    "BiLSTMSummarizer",
    "AvgCHSummarizer",
    "MaxSummarizer",
    "SWEMConcatSummarizer",
    "SWEMHierSummarizer",
    "BiLSTMMaxSummarizer",
    "AttentionSummarizer",
    "CNNSummarizer",
]
