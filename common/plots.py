"""Pictures the notebooks share: a live training curve, episode grids, and widgets with a static fallback.

Helpers draw on a matplotlib `ax` they are given (or make one) and return it, so several methods can share a chart.
"""

import os
import time

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display


class LiveCurve:
    """A loss/accuracy curve redrawn in place while training runs; its last frame stays as the cell's output.

    It redraws every `every` additions and, in a live notebook, also whenever `seconds` have passed since the last
    frame, so that a curve fed rarely still moves while it trains. Works the same when nobody watches (tests,
    nbconvert): the final picture is what the notebook keeps.
    Usage: ``curve = LiveCurve(["loss", "val acc"]); curve.add(step, loss=0.5); ...; curve.close()``.
    """

    def __init__(self, metrics, every: int = 1, title: str = "", seconds: float = 1.0):
        self.metrics, self.every, self.updates = list(metrics), every, 0
        self.seconds, self.last_frame = (seconds if has_live_frontend() else None), time.monotonic()
        self.history = {name: ([], []) for name in self.metrics}
        self.fig, self.axes = plt.subplots(1, len(self.metrics), figsize=(4 * len(self.metrics), 3))
        self.axes = np.atleast_1d(self.axes)
        self.fig.suptitle(title)
        self.handle = display(self.fig, display_id=True)
        plt.close(self.fig)

    def add(self, step: int, **values) -> None:
        """Append values at `step` (e.g. loss=..., acc=...); redraw every `every` calls or when a frame is due."""
        for name, value in values.items():
            self.history[name][0].append(step)
            self.history[name][1].append(float(value))
        self.updates += 1
        due = self.seconds is not None and time.monotonic() - self.last_frame >= self.seconds
        if due or self.updates % self.every == 0:
            self.draw()

    def draw(self) -> None:
        for ax, name in zip(self.axes, self.metrics):
            ax.clear()
            ax.plot(*self.history[name], marker="." if len(self.history[name][0]) < 30 else None)
            ax.set(xlabel="step", title=name)
            ax.grid(alpha=0.3)
        self.fig.tight_layout()
        self.last_frame = time.monotonic()
        if self.handle is not None:
            self.handle.update(self.fig)

    def close(self) -> None:
        """Draw the final frame."""
        self.draw()


def show_images(images, ax=None, rows: int = 1, titles=None, colors=None):
    """Draw images [n, 1, 28, 28] (or [n, 28, 28]) in a grid on one axis; optional titles and frame colours per image."""
    images = np.asarray(images, dtype=np.float32).reshape(len(images), *np.shape(images)[-2:])
    cols = int(np.ceil(len(images) / rows))
    size = images.shape[-1]
    canvas = np.ones((rows * (size + 4), cols * (size + 4), 3))
    for i, image in enumerate(images):
        r, c = divmod(i, cols)
        y, x = r * (size + 4), c * (size + 4)
        canvas[y : y + size + 4, x : x + size + 4] = (colors[i] if colors else (1, 1, 1))
        canvas[y + 2 : y + size + 2, x + 2 : x + size + 2] = 1 - image[..., None]
    if ax is None:
        _, ax = plt.subplots(figsize=(cols * 0.6, rows * 0.6 + 0.3))
    ax.imshow(canvas)
    ax.set_axis_off()
    if titles is not None:
        for i, title in enumerate(titles):
            r, c = divmod(i, cols)
            ax.text(c * (size + 4) + size / 2 + 2, r * (size + 4), str(title), ha="center", va="bottom", fontsize=7)
    return ax


def show_episode(support_x, support_y, query_x, query_y, prediction=None, n_query_shown: int = 3, axes=None):
    """Support set (one row per class) beside a few queries per class; with `prediction`, frames mark right (green)
    and wrong (red) answers and each query is titled with its predicted label."""
    n_way = int(support_y.max()) + 1
    k_shot, n_query = len(support_y) // n_way, len(query_y) // n_way
    shown = [c * n_query + q for c in range(n_way) for q in range(min(n_query, n_query_shown))]
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(2 + 0.6 * (k_shot + n_query_shown), 0.6 * n_way + 0.6),
                               gridspec_kw={"width_ratios": [k_shot, min(n_query, n_query_shown)]})
    show_images(support_x.cpu(), axes[0], rows=n_way)
    axes[0].set_title(f"support: {n_way}-way {k_shot}-shot", fontsize=9)
    colors = titles = None
    if prediction is not None:
        right = (prediction.cpu() == query_y.cpu())[shown]
        colors = [(0.2, 0.7, 0.2) if ok else (0.9, 0.1, 0.1) for ok in right]
        titles = [int(prediction[i]) for i in shown]
    show_images(query_x[shown].cpu(), axes[1], rows=n_way, colors=colors, titles=titles)
    axes[1].set_title("queries" + (" (frame: right/wrong)" if prediction is not None else ""), fontsize=9)
    return axes


def has_live_frontend() -> bool:
    """True in a notebook kernel unless METALEARN_STATIC is set (the tests and `common.notebooks execute` set it)."""
    if os.environ.get("METALEARN_STATIC"):
        return False
    from IPython import get_ipython

    return hasattr(get_ipython(), "kernel")


def progress(iterable, **kwargs):
    """A tqdm progress bar: a widget in a live notebook, plain text otherwise, so a saved notebook keeps its final bar."""
    if has_live_frontend():
        from tqdm.notebook import tqdm
    else:
        from tqdm.std import tqdm

        kwargs.setdefault("mininterval", 10)
    return tqdm(iterable, **kwargs)


def interactive_or_static(draw, **sliders) -> None:
    """Show `draw(**values)` with ipywidgets sliders in a live notebook; otherwise one static picture at the defaults.

    `sliders` maps a name to (default, options) for a dropdown, or to an ipywidgets widget.
    """
    defaults = {name: spec[0] if isinstance(spec, tuple) else spec.value for name, spec in sliders.items()}
    if not has_live_frontend():
        draw(**defaults)
        plt.show()
        return
    import ipywidgets as widgets

    controls = {name: widgets.Dropdown(options=spec[1], value=spec[0], description=name) if isinstance(spec, tuple) else spec
                for name, spec in sliders.items()}

    def show(**values) -> None:
        """Draw and show; returns nothing, since `interact` prints whatever its function returns."""
        draw(**values)
        plt.show()

    widgets.interact(show, **controls)
