"""Look inside trained summarizers: how each reads a sentence (``python -m src.inspect``).

* :mod:`src.inspect.attribution`: word importance for the predicted class, leave-one-out and
  integrated gradients (Captum) on the word vectors.
* :mod:`src.inspect.states`: what each summarizer does at every step (LSTM gates and state norms
  recomputed from the weights, attention weights, where each max came from).
* :mod:`src.inspect.figure`: the picture; :mod:`src.inspect.cli`: the command.

The package is ``src.inspect``, never a top-level ``inspect``: it does not shadow the standard
library's module, which its dependencies import.
"""

from .attribution import class_probabilities, integrated_gradients, leave_one_out
from .states import Readout, lstm_recurrence, read_states

__all__ = ["Readout", "class_probabilities", "integrated_gradients", "leave_one_out", "lstm_recurrence", "read_states"]
