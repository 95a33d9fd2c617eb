"""Look inside trained summarizers: how each reads a sentence (``python -m src.inspect``).

* :mod:`src.inspect.attribution`: word importance for the predicted class, leave-one-out and
  integrated gradients (Captum) on the word vectors.
* :mod:`src.inspect.states`: what each summarizer does at every step (LSTM gates and state norms
  recomputed from the weights, attention weights, where each max came from).
* :mod:`src.inspect.figure`: the picture; :mod:`src.inspect.cli`: the command.

The package is ``src.inspect``, never a top-level ``inspect``: it does not shadow the standard
library's module, which its dependencies import.

Nothing is imported here, so that ``python -m src.inspect`` can answer a bad setting before torch loads.
"""
