"""A baseline's settings, the grid of those to search, and the choice on validation.

In ``conf/baseline/<name>.yaml`` every key but ``_target_`` is a setting of the baseline's class; a
setting given as a list is searched (``baseline.lr=[0.1,0.5]``), a plain value is fixed
(``baseline.lr=0.1``). Every value is checked against the class's ``SETTINGS`` before any data is
read, so a bad one is a one-line ConfigError naming the key. :func:`select` fits every point of
the grid on train and keeps the one with the best validation score; it is never given the test split.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from src.summarizers.base import ConfigError
from src.utils.cli import _check_number, _is_int
from src.utils.errors import NumericsError

from .scores import scores
from .splits import Split

log = logging.getLogger(__name__)
Check = Callable[[str, Any], None]


def positive_int(key: str, value) -> None:
    if not _is_int(value) or value < 1:
        raise ConfigError(f"{key} must be a positive integer, got {value!r}")


def positive_number(key: str, value) -> None:
    _check_number(key, value, 0.0, open_low=True)


def unit_interval(key: str, value) -> None:
    _check_number(key, value, 0.0, 1.0)


def one_of(*choices: str) -> Check:
    def check(key: str, value) -> None:
        if value not in choices:
            raise ConfigError(f"{key} must be one of {', '.join(choices)}, got {value!r}")

    return check


def grid_points(settings: Mapping[str, Any], checks: Mapping[str, Check], prefix: str = "baseline") -> list[dict]:
    """Every combination of the listed values (in the config's order, the last key varying fastest),
    each value checked; a key the class does not take is a ConfigError listing the ones it does."""
    axes: dict[str, list] = {}
    for key, value in settings.items():
        name = f"{prefix}.{key}"
        if key not in checks:
            raise ConfigError(f"{name} is not a setting of this baseline (settings: {', '.join(checks)})")
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        if not values:
            raise ConfigError(f"{name} is an empty list: give a value, or a list of values to search")
        for v in values:
            checks[key](name, v)
        axes[key] = values
    return [dict(zip(axes, combination)) for combination in itertools.product(*axes.values())]


@dataclass
class Selection:
    """The chosen point, its fitted model, and one row per point of the grid (the searched settings,
    validation scores, fit seconds)."""

    model: Any
    point: dict
    scores: dict[str, float]
    seconds: float
    rows: list[dict]


def select(fit: Callable[[dict], Any], points: list[dict], validation: Split, metric: str | None) -> Selection:
    """Fit each point (``fit(point)`` trains on train) and keep the best by validation ``metric``
    (accuracy when None); a tie keeps the earlier point. A point whose fit diverges
    (:class:`NumericsError`) is recorded with its error and skipped; all of them: that error."""
    key = metric or "acc"
    searched = [k for k in points[0] if len({repr(p[k]) for p in points}) > 1]  # the rows name only these
    best: Selection | None = None
    rows = []
    for point in points:
        searched_point = {k: point[k] for k in searched}
        start = time.perf_counter()
        try:
            model = fit(point)
        except NumericsError as exc:  # a learning rate too high for this set: the other points may do
            rows.append({**searched_point, "error": str(exc)})
            log.warning("%s: %s; point skipped", searched_point, exc)
            continue
        seconds = time.perf_counter() - start
        got = scores(validation.labels, model.predict(validation.tokens), metric)
        rows.append({**searched_point, **{f"val/{k}": v for k, v in got.items()}, "train_seconds": round(seconds, 3)})
        log.info("%s: val/%s %.4f (fit %.2f s)", searched_point, key, got[key], seconds)
        if best is None or got[key] > best.scores[key]:
            best = Selection(model, point, got, seconds, [])
    if best is None:
        raise NumericsError(f"no point of the grid could be fitted ({rows[-1]['error']}): lower the learning rate")
    best.rows = rows
    log.info("chosen on validation: %s (val/%s %.4f)", best.point, key, best.scores[key])
    return best
