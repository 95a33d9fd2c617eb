"""Speed measurements, each a script (never a timed test), each writing JSON for the README's tables:

* ``python -m src.bench``: training-step times of every summarizer and the ratios that matter
  (``steps.py``: the command; one module for each measurement it names);
* ``python -m src.bench.sweep``: the wall time of a whole sweep, e.g. ``experiment=benchmark``
  (``sweep.py``);
* ``python -m src.bench.scale``: data preparation time and peak memory as a set grows
  (``scale.py``: the command; ``scale_*.py``: the documents, each measurement, the report).
"""
