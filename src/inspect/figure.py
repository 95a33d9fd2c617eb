"""The picture of how each summarizer reads a sentence (matplotlib, imported lazily).

One block per model: a title with its prediction and every class's probability, the sentence's words
as two coloured strips (leave-one-out and integrated gradients for the predicted class, each with a
colour bar), then the state panels of :mod:`src.inspect.states` on the same x axis (one step per
word), or a note when the summarizer has none. Colours are shared by every strip of a figure
(one scale per method), so the same colour means the same change in probability.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .states import Readout

__all__ = ["ModelView", "Section", "draw"]

STRIP_CMAP = "PiYG"  # green: the word speaks for the predicted class, pink: against it
SIDE_WIDTH = 2.5  # inches of the right-hand column: colour bars and legends
PANEL_HEIGHT = 1.25


@dataclass
class ModelView:
    """One model's reading of one sentence."""

    name: str
    label_names: list[str]
    probabilities: np.ndarray  # [C]
    loo: np.ndarray  # [L]
    ig: np.ndarray  # [L]
    readout: Readout
    ig_baseline: float = float("nan")  # p(predicted class) at the zero vectors, where the IG path starts

    @property
    def predicted(self) -> int:
        return int(np.argmax(self.probabilities))

    def headline(self) -> str:
        label = self.label_names[self.predicted]
        others = ", ".join(f"{n} {p:.2f}" for n, p in zip(self.label_names, self.probabilities))
        return f"{self.name}: predicts {label} (p = {self.probabilities[self.predicted]:.2f}; {others})"


@dataclass
class Section:
    """One sentence and every model's reading of it."""

    title: str
    words: list[str]
    views: list[ModelView] = field(default_factory=list)
    footnote: str = ""


CHAR_WIDTH = 0.075  # inches per character at 9 pt


def _cell_width(words: list[str]) -> float:
    """Inches a strip cell needs for the longest word lying flat."""
    return max(map(len, words)) * CHAR_WIDTH + 0.12


def _main_width(words: list[str]) -> float:
    """Wide enough for flat words up to 22 in; longer sentences get upright words, 0.16 in each."""
    return float(max(6.0, min(len(words) * _cell_width(words), max(22.0, 0.16 * len(words)))))


def _vertical_words(words: list[str], width: float) -> bool:
    """Whether the words must stand upright to fit their cells."""
    return _cell_width(words) > width / max(len(words), 1) + 1e-9


def _strip(ax, words: list[str], values: np.ndarray, vmax: float, vertical: bool, fontsize: float):
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap(STRIP_CMAP)
    image = ax.imshow(
        values[None, :],
        cmap=cmap,
        vmin=-vmax,
        vmax=vmax,
        aspect="auto",
        extent=(-0.5, len(words) - 0.5, 0, 1),
        interpolation="nearest",
    )
    for t, (word, value) in enumerate(zip(words, values)):
        dark = abs(value) / vmax > 0.6
        ax.text(
            t,
            0.5,
            word,
            ha="center",
            va="center",
            rotation=90 if vertical else 0,
            fontsize=fontsize,
            color="white" if dark else "black",
        )
    for t in range(1, len(words)):
        ax.axvline(t - 0.5, color="white", linewidth=0.6)
    ax.set_yticks([])
    ax.set_xticks([])
    ax.set_xlim(-0.5, len(words) - 0.5)
    return image


def _panel(ax, panel, n: int) -> list:
    bars = [s for s in panel.series if s.style == "bar"]
    width = 0.8 / max(len(bars), 1)
    handles = []
    for k, series in enumerate(panel.series):
        steps = np.arange(n)
        if series.style == "bar":
            offset = (k - (len(bars) - 1) / 2) * width
            handles.append(ax.bar(steps + offset, series.values, width=width, color=series.color, label=series.label))
        else:
            (line,) = ax.plot(
                steps,
                series.values,
                series.style,
                color=series.color,
                label=series.label,
                marker="." if n <= 80 else None,
                markersize=4,
                linewidth=1.3,
            )
            handles.append(line)
    if panel.ylim is not None:
        ax.set_ylim(*panel.ylim)
    if any(np.min(s.values) < 0 for s in panel.series):
        ax.axhline(0, color="black", linewidth=0.6)
    ax.set_xlim(-0.5, n - 0.5)
    ax.set_title(panel.title, fontsize=9, loc="left")
    ax.grid(alpha=0.3)
    ax.tick_params(labelsize=8)
    return handles


def draw(sections: list[Section], path: str | Path, dpi: int | None = None) -> Path:
    """Write the figure of ``sections`` (one or more sentences) to ``path`` (``dpi``: 110, or 90 for
    figures wider than 20 inches, whose words are still legible at that)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    width = max(_main_width(s.words) for s in sections)
    # one colour scale per method for the whole figure: the same colour is the same change in probability
    vmax = {
        key: max([float(np.max(np.abs(getattr(v, key)))) for s in sections for v in s.views] + [1e-6])
        for key in ("loo", "ig")
    }
    # rows: (kind, height in inches, payload)
    rows: list[tuple[str, float, tuple]] = []
    for s_index, section in enumerate(sections):
        vertical = _vertical_words(section.words, width)
        fontsize = 9 if len(section.words) <= 120 else 7
        strip_height = 0.42 if not vertical else 0.3 + 0.09 * max(len(w) for w in section.words)
        rows.append(("section", 0.5 if s_index == 0 else 0.7, (section,)))
        for view in section.views:
            rows.append(("strip", strip_height, (section, view, "loo", vmax["loo"], vertical, fontsize, True)))
            rows.append(("strip", strip_height, (section, view, "ig", vmax["ig"], vertical, fontsize, False)))
            for p_index, panel in enumerate(view.readout.panels):
                last = p_index == len(view.readout.panels) - 1
                rows.append(
                    (
                        "panel",
                        PANEL_HEIGHT + (0.12 * max(map(len, section.words)) if last else 0),
                        (section, view, panel, last),
                    )
                )
            if view.readout.note:
                rows.append(("note", 0.3, (view.readout.note,)))
            rows.append(("gap", 0.25, ()))
        if section.footnote:
            rows.append(("note", 0.3, (section.footnote,)))
    heights = [h for _, h, _ in rows]
    fig = plt.figure(figsize=(width + SIDE_WIDTH, sum(heights) + 0.3), layout="constrained")
    grid = fig.add_gridspec(len(rows), 2, height_ratios=heights, width_ratios=[width, SIDE_WIDTH])
    for r, (kind, _, payload) in enumerate(rows):
        if kind == "gap":
            continue
        if kind in ("section", "note"):
            ax = fig.add_subplot(grid[r, :])
            ax.axis("off")
            if kind == "section":
                ax.text(0.0, 0.5, payload[0].title, fontsize=12, fontweight="bold", va="center", ha="left", wrap=True)
            else:
                ax.text(0.0, 0.5, payload[0], fontsize=9, style="italic", va="center", ha="left", color="#444444")
            continue
        ax, side = fig.add_subplot(grid[r, 0]), fig.add_subplot(grid[r, 1])
        side.axis("off")
        if kind == "strip":
            section, view, key, vmax, vertical, fontsize, first = payload
            image = _strip(ax, section.words, getattr(view, key), vmax, vertical, fontsize)
            name = "leave-one-out" if key == "loo" else "integrated gradients"
            ax.set_ylabel("LOO" if key == "loo" else "IG", rotation=0, ha="right", va="center", fontsize=9)
            if first:
                ax.set_title(view.headline(), fontsize=10.5, loc="left", fontweight="bold")
            cax = side.inset_axes((0.0, 0.05, 0.05, 0.9))
            bar = fig.colorbar(image, cax=cax, ticks=[-vmax, vmax])
            bar.ax.set_yticklabels([f"{-vmax:+.2f}", f"{vmax:+.2f}"])
            bar.ax.tick_params(labelsize=7, length=2, pad=1)
            label = f"{name}:\nΔ p({view.label_names[view.predicted]})"
            if key == "ig" and np.isfinite(view.ig_baseline):
                label += f" from {view.ig_baseline:.2f}\nat the zero vectors"
            side.text(0.27, 0.5, label, fontsize=7.5, va="center", ha="left", transform=side.transAxes, linespacing=1.1)
        else:
            section, view, panel, last = payload
            handles = _panel(ax, panel, len(section.words))
            if last:
                ax.set_xticks(
                    range(len(section.words)),
                    section.words,
                    rotation=90,
                    fontsize=8 if len(section.words) <= 120 else 6,
                )
            else:
                ax.set_xticks(range(len(section.words)), [])
            side.legend(handles=handles, loc="center left", fontsize=8, frameon=False, borderaxespad=0)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi or (110 if width + SIDE_WIDTH <= 20 else 90))
    plt.close(fig)
    return path
