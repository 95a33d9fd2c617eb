"""n-gram baselines run beside the summarizers: ``python -m src.baseline baseline=fasttext|nbsvm data=...``.

A practitioner's alternative to a learned sequence summarizer is a bag of n-grams; these make the
comparison on the same data. The command instantiates the data config's datamodule exactly as
``src.train`` does (same splits, carved validation, cross-validation folds, tokenizer, seeds), reads
each split's tokens back from it, fits the baseline once per point of the validation grid
(``conf/baseline/<name>.yaml``: a setting given as a list is searched), keeps the point with the best
validation score, scores it on test once, and writes ``results.json`` (``kind: baseline``) and
``predictions.csv`` as ``src.train`` does, so a sweep's report places it beside the summarizers.

Modules: ``run`` (the command), ``grid`` (settings, grid, selection), ``splits`` (tokens and labels
of a split), ``scores`` (accuracy, macro-F1, MCC), ``fast_text`` (fastText), ``nbsvm`` (NBSVM).
"""
