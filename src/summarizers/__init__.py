"""Seq2Vec summarizers: [B, T, E] word vectors + lengths -> [B, output_dim]. See ``base``."""
from .base import ConfigError, Summarizer
from .pooling import MeanSummarizer
from .recurrent import AvgCHSummarizer, BiLSTMSummarizer, LSTMSummarizer, RNNSummarizer

__all__ = ["ConfigError", "Summarizer", "MeanSummarizer", "RNNSummarizer", "LSTMSummarizer",
           "BiLSTMSummarizer", "AvgCHSummarizer"]
