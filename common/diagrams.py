"""The diagram of each algorithm, drawn with matplotlib and embedded in its notebook's markdown, so that it shows on
Colab, in Jupyter and offline alike (no image files to fetch).

    python -m common.diagrams        redraw every diagram into the notebooks that show one

A notebook asks for a diagram with a markdown image whose address is ``diagram:NAME`` (NAME a key of DIAGRAMS);
`embed` replaces the address by the drawing as a PNG data URI and keeps ``diagram:NAME`` as the image's title, so
that the next `embed` finds it again.
"""

import base64
import io
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

COLORS = {"data": "#dbe9f6", "net": "#fde2c8", "op": "#e4f2dc", "out": "#f3dcef", "meta": "#fff2b3"}
IMAGE = re.compile(r'!\[(?P<alt>[^\]]*)\]\((?:diagram:(?P<name>\w+)|data:image/png;base64,(?P<data>[A-Za-z0-9+/=]+) "diagram:(?P<named>\w+)")\)')


def canvas(width: float, height: float):
    """A blank figure whose axes run from 0 to width and 0 to height (in inches, so shapes keep their proportions)."""
    fig, ax = plt.subplots(figsize=(width, height))
    ax.set(xlim=(0, width), ylim=(0, height))
    ax.axis("off")
    return fig, ax


def box(ax, x, y, text, kind="net", width=1.3, height=0.55, size=9):
    """A rounded box centred on (x, y); returns its centre and half-sizes for arrows."""
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height, boxstyle="round,pad=0.02,rounding_size=0.08",
                                facecolor=COLORS[kind], edgecolor="#555555", linewidth=1))
    ax.text(x, y, text, ha="center", va="center", fontsize=size)
    return x, y, width / 2, height / 2


def arrow(ax, start, end, text="", style="-|>", color="#333333", offset=(0, 0.12), size=8, **kwargs):
    """An arrow from box (or point) `start` to `end`, leaving and entering at their edges, with an optional label."""
    (x0, y0), (x1, y1) = edge(start, end), edge(end, start)
    ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), arrowstyle=style, mutation_scale=12, color=color, linewidth=1.2, **kwargs))
    if text:
        ax.text((x0 + x1) / 2 + offset[0], (y0 + y1) / 2 + offset[1], text, ha="center", va="bottom", fontsize=size, color=color)


def edge(shape, toward):
    """Where the segment from `shape`'s centre to `toward`'s centre leaves `shape` (a point is its own edge)."""
    x, y, *half = shape
    tx, ty = toward[:2]
    if not half:
        return x, y
    dx, dy = tx - x, ty - y
    scale = min(half[0] / abs(dx) if dx else float("inf"), half[1] / abs(dy) if dy else float("inf"))
    return x + dx * scale, y + dy * scale


def siamese():
    """Twin encoders with shared weights, an L1 distance, a learned weighting and a sigmoid."""
    fig, ax = canvas(8, 2.6)
    x1, x2 = box(ax, 0.7, 1.9, "image $x_1$", "data", 1.1), box(ax, 0.7, 0.7, "image $x_2$", "data", 1.1)
    f1, f2 = box(ax, 2.4, 1.9, "encoder $f_\\theta$"), box(ax, 2.4, 0.7, "encoder $f_\\theta$")
    ax.text(2.4, 1.3, "same weights", ha="center", va="center", fontsize=8, style="italic", color="#a0522d")
    distance = box(ax, 4.3, 1.3, "$|f_\\theta(x_1) - f_\\theta(x_2)|$", "op", 1.9)
    weigh = box(ax, 6.0, 1.3, "$\\alpha \\cdot (\\,) + b$", "net", 1.1)
    out = box(ax, 7.4, 1.3, "$\\sigma$: p(same)", "out", 1.0)
    for a, b in ((x1, f1), (x2, f2), (f1, distance), (f2, distance), (distance, weigh), (weigh, out)):
        arrow(ax, a, b)
    return fig


def matching():
    """Attention over the support set: the query's label is the attention-weighted sum of the support labels."""
    fig, ax = canvas(8, 3.1)
    supports = [box(ax, 0.8, y, f"$x_{i}$, $y_{i}$", "data", 0.9, 0.45) for i, y in ((1, 2.5), (2, 1.85), (3, 1.2))]
    query = box(ax, 0.8, 0.4, "query $\\hat x$", "data", 0.9, 0.45)
    g = box(ax, 2.5, 1.85, "$g(x_i, S)$", "net", 1.1)
    f = box(ax, 2.5, 0.4, "$f(\\hat x, S)$", "net", 1.1)
    attention = box(ax, 4.6, 1.2, "$a(\\hat x, x_i) =$\nsoftmax$_i$ cos$(f, g_i)$", "op", 2.0, 0.8)
    out = box(ax, 7.0, 1.2, "$\\hat y = \\sum_i a(\\hat x, x_i)\\, y_i$", "out", 1.7)
    for s in supports:
        arrow(ax, s, g)
    arrow(ax, query, f)
    arrow(ax, g, attention)
    arrow(ax, f, attention)
    arrow(ax, attention, out)
    ax.text(2.2, 2.82, "support set $S$ (with FCE: read as a sequence)", ha="center", fontsize=8, style="italic")
    return fig


def prototypical():
    """Class prototypes are mean embeddings; a query goes to the nearest prototype."""
    fig, ax = canvas(8, 2.8)
    points = {0: [(0.5, 2.2), (0.9, 2.4), (0.7, 1.9)], 1: [(1.9, 2.3), (2.3, 2.0), (2.1, 2.5)], 2: [(1.2, 0.7), (1.6, 0.9), (1.0, 1.0)]}
    colors = ("#1f77b4", "#d62728", "#2ca02c")
    for c, pts in points.items():
        xs, ys = zip(*pts)
        ax.scatter(xs, ys, s=30, color=colors[c])
        ax.scatter(sum(xs) / 3, sum(ys) / 3, s=160, marker="*", color=colors[c], edgecolor="black", zorder=3)
    ax.scatter(1.75, 1.45, s=70, marker="X", color="black")
    ax.text(1.85, 1.3, "query", fontsize=8)
    for c, pts in points.items():
        cx, cy = sum(p[0] for p in pts) / 3, sum(p[1] for p in pts) / 3
        ax.plot([1.75, cx], [1.45, cy], ls="--", color=colors[c], lw=1)
    ax.text(1.4, 0.15, "embedding space: dots = support $f_\\theta(x_i)$, stars = prototypes $c_k$", ha="center", fontsize=8)
    out = box(ax, 5.8, 1.5, "$p(y = k \\mid x) = $ softmax$_k$\n$(-\\Vert f_\\theta(x) - c_k \\Vert^2)$", "out", 2.8, 0.9)
    arrow(ax, (2.9, 1.5), out, "distances to the prototypes")
    return fig


def relation():
    """The relation module: each class's feature map, concatenated with the query's, is scored by a learned network."""
    fig, ax = canvas(8, 2.6)
    support = box(ax, 0.75, 1.9, "support of\nclass $c$", "data", 1.1, 0.7)
    query = box(ax, 0.75, 0.6, "query $x_j$", "data", 1.1)
    fs, fq = box(ax, 2.35, 1.9, "$f_\\varphi$, pooled\nover the shots", "net", 1.5, 0.7), box(ax, 2.35, 0.6, "$f_\\varphi$", "net", 1.5)
    concat = box(ax, 4.3, 1.25, "concatenate\nfeature maps", "op", 1.4, 0.7)
    g = box(ax, 5.9, 1.25, "relation module\n$g_\\phi$ (convs + MLP)", "net", 1.6, 0.7)
    out = box(ax, 7.4, 1.25, "$r_{c,j} \\in [0, 1]$", "out", 1.0)
    for a, b in ((support, fs), (query, fq), (fs, concat), (fq, concat), (concat, g), (g, out)):
        arrow(ax, a, b)
    ax.text(6.4, 0.35, "trained with squared error to 1 (same class) or 0", ha="center", fontsize=8, style="italic")
    return fig


def lstm_meta_learner():
    """The unrolled meta-learner: an LSTM whose cell state is the learner's parameters, updated from loss and gradient."""
    fig, ax = canvas(8, 3.0)
    thetas = [box(ax, 0.6 + 2.1 * t, 0.6, f"$\\theta_{t}$" if t < 3 else "$\\theta_T$", "meta" if t == 0 else "data", 0.8) for t in range(4)]
    cells = [box(ax, 1.65 + 2.1 * t, 1.9, "LSTM cell\n$c_t = f_t c_{t-1} - i_t \\nabla_t$", "net", 1.75, 0.75, 8) for t in range(3)]
    for t, cell in enumerate(cells):
        arrow(ax, thetas[t], cell, "$\\mathcal{L}_t, \\nabla_t$ on $S$", offset=(-0.55, 0.0))
        arrow(ax, cell, thetas[t + 1])
        if t:
            arrow(ax, cells[t - 1], cell, "$h, i, f$", offset=(0, 0.4))
    query = box(ax, 7.4, 1.9, "query loss", "out", 1.0)
    arrow(ax, thetas[3], query)
    ax.text(4.0, 2.75, "meta-training: the query loss is backpropagated through the unrolled steps into the LSTM and $\\theta_0$",
            ha="center", fontsize=8, style="italic")
    return fig


def maml():
    """MAML's two loops: inner steps from theta on each task's support set, an outer step from their query losses."""
    fig, ax = canvas(8, 3.0)
    theta = box(ax, 0.8, 1.5, "$\\theta$", "meta", 0.8)
    tasks = []
    for i, y in enumerate((2.5, 1.5, 0.5), start=1):
        adapted = box(ax, 3.3, y, f"$\\theta'_{i} = \\theta - \\alpha \\nabla \\mathcal{{L}}_{{S_{i}}}(\\theta)$", "op", 2.6, 0.5, 8)
        loss = box(ax, 5.6, y, f"$\\mathcal{{L}}_{{Q_{i}}}(\\theta'_{i})$", "out", 1.2, 0.5)
        arrow(ax, theta, adapted)
        arrow(ax, adapted, loss)
        tasks.append(loss)
    update = box(ax, 7.3, 1.5, "outer step:\n$\\theta \\leftarrow \\theta - \\beta \\nabla_\\theta \\sum_i \\mathcal{L}_{Q_i}$", "meta", 1.3, 0.9, 8)
    for loss in tasks:
        arrow(ax, loss, update)
    ax.text(3.3, 2.9, "inner loop: adapt to each task's support set", ha="center", fontsize=8, style="italic")
    ax.text(5.6, 0.05, "outer loop: gradient through the inner steps", ha="center", fontsize=8, style="italic")
    return fig


def reptile():
    """One Reptile step: train on a task from phi, then move phi part of the way towards the result."""
    fig, ax = canvas(6, 3.0)
    path = [(1.0, 0.8), (1.9, 1.4), (2.6, 1.75), (3.3, 2.2), (4.6, 2.5)]
    for a, b in zip(path, path[1:]):
        arrow(ax, a, b, color="#1f77b4")
    ax.text(3.2, 2.55, "$k$ SGD steps on task $\\tau$", fontsize=8, color="#1f77b4", ha="center")
    new = (1.0 + 0.35 * (4.6 - 1.0), 0.8 + 0.35 * (2.5 - 0.8))
    arrow(ax, path[0], new, color="#d62728")
    ax.scatter(*zip(path[0], path[-1], new), color=["black", "#1f77b4", "#d62728"], zorder=3)
    ax.text(0.95, 0.55, "$\\phi$", fontsize=10, ha="center")
    ax.text(4.7, 2.25, "$\\tilde\\phi = U^k_\\tau(\\phi)$", fontsize=9)
    ax.text(2.3, 0.95, "$\\phi \\leftarrow \\phi + \\epsilon(\\tilde\\phi - \\phi)$", fontsize=9, color="#d62728")
    return fig


def gradient_directions():
    """The two directions of Nichol et al.'s analysis: A, the average gradient, and B, which aligns minibatch gradients."""
    fig, ax = canvas(6, 3.0)
    origin = (1.0, 0.8)
    for (dx, dy), text, color in (((3.4, 0.4), "$A$: lower the expected loss", "#1f77b4"),
                                   ((0.6, 1.9), "$B$: make two minibatches' gradients agree", "#d62728"),
                                   ((2.2, 1.4), "FOMAML, MAML, Reptile:\n$a\\,A + b\\,\\alpha B$", "#2ca02c")):
        arrow(ax, origin, (origin[0] + dx, origin[1] + dy), color=color)
        ax.text(origin[0] + dx + 0.05, origin[1] + dy + 0.05, text, fontsize=8, color=color)
    ax.scatter(*origin, color="black", zorder=3)
    ax.text(origin[0] - 0.1, origin[1] - 0.3, "$\\phi$", fontsize=10)
    return fig


def baseline():
    """Baseline and Baseline++: pre-train on the base classes, then a new head fine-tuned on the frozen support features."""
    fig, ax = canvas(8, 2.6)
    base = box(ax, 0.9, 1.9, "all base\nclasses", "data", 1.2, 0.7)
    body = box(ax, 2.7, 1.9, "Conv-4 $f_\\theta$", "net", 1.4)
    head = box(ax, 4.9, 1.9, "classifier over the\nbase classes (linear\nor cosine for ++)", "net", 1.9, 0.8, 8)
    ce = box(ax, 7.0, 1.9, "cross-entropy", "out", 1.3)
    support = box(ax, 0.9, 0.55, "novel support set", "data", 1.5)
    frozen = box(ax, 2.7, 0.55, "$f_\\theta$, frozen", "net", 1.4)
    new_head = box(ax, 4.9, 0.55, "new $N$-way head,\nfine-tuned", "op", 1.9, 0.7)
    out = box(ax, 7.0, 0.55, "predict queries", "out", 1.3)
    for a, b in ((base, body), (body, head), (head, ce), (support, frozen), (frozen, new_head), (new_head, out)):
        arrow(ax, a, b)
    arrow(ax, body, frozen, "copy", offset=(0.25, -0.05))
    ax.text(8.0, 1.9, "training", rotation=90, va="center", fontsize=8, style="italic")
    ax.text(8.0, 0.55, "test", rotation=90, va="center", fontsize=8, style="italic")
    return fig


DIAGRAMS = {"siamese": siamese, "matching": matching, "prototypical": prototypical, "relation": relation,
            "lstm_meta_learner": lstm_meta_learner, "maml": maml, "reptile": reptile,
            "gradient_directions": gradient_directions, "baseline": baseline}


def png_base64(name: str) -> str:
    """The diagram `name` as a base64 PNG."""
    fig = DIAGRAMS[name]()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def embed(markdown: str) -> str:
    """Every ``![alt](diagram:NAME)`` (or an earlier embedding of it) replaced by the current drawing of NAME."""
    def drawing(match):
        name = match["name"] or match["named"]
        return f'![{match["alt"]}](data:image/png;base64,{png_base64(name)} "diagram:{name}")'

    return IMAGE.sub(drawing, markdown)


def diagram_names(markdown: str) -> list:
    """The names of the diagrams a markdown text shows or asks for."""
    return [match["name"] or match["named"] for match in IMAGE.finditer(markdown)]


if __name__ == "__main__":
    import nbformat

    from .notebooks import course_notebooks

    for path in course_notebooks():
        notebook = nbformat.read(path, as_version=4)
        cells = [cell for cell in notebook.cells if cell.cell_type == "markdown" and diagram_names(cell.source)]
        for cell in cells:
            cell.source = embed(cell.source)
        if cells:
            nbformat.write(notebook, path)
            print(f"{path.name}: {', '.join(name for cell in cells for name in diagram_names(cell.source))}")
