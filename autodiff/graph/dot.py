"""Draw the recorded graph with Graphviz: one node per op or leaf, grouped by module, shaded by gradient.

Rendering is a pure function of the graph: nodes are numbered in the engine's topological order,
so the DOT source is the same every time. graphviz is imported only when a graph is drawn.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autodiff.graph.walk import (
    Graph,
    collect,
    fmt_norm,
    fmt_type,
    gradient_norms,
    leaf_grad_norms,
    summarize,
)
from autodiff.tensor import Tensor

if TYPE_CHECKING:
    import graphviz

_RANKDIRS = ("LR", "RL", "TB", "BT")
_FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf"}
_SOURCE_SUFFIXES = (".dot", ".gv")

_FONT = "Helvetica"
_FILL_OP = "#dbe9f6"
_FILL_PARAM = "#fff2cc"
_FILL_CONST = "#eeeeee"
_FILL_ROOT = "#d5f0d5"
_NO_GRAD = ("#9e9e9e", "1", "solid")

# Edge shades by the gradient norm at the edge's tail, relative to the largest in the graph:
# (lower bound, colour, pen width, style, legend text). Fading blue, then orange for vanishing.
_SHADES = (
    (1e-1, "#08306b", "2.8", "solid", "≥ 10⁻¹ of the largest"),
    (1e-2, "#2171b5", "2.2", "solid", "10⁻² to 10⁻¹"),
    (1e-3, "#4292c6", "1.7", "solid", "10⁻³ to 10⁻²"),
    (1e-4, "#6baed6", "1.3", "solid", "10⁻⁴ to 10⁻³"),
    (1e-5, "#9ecae1", "1.0", "solid", "10⁻⁵ to 10⁻⁴"),
    (0.0, "#e6550d", "1.2", "dashed", "vanishing: below 10⁻⁵"),
)
_ZERO = ("#bdbdbd", "1.0", "dotted", "exactly zero")
_BAD = ("#cb181d", "3.0", "bold", "NaN or ∞")


def _shade(norm: float, largest: float) -> tuple[str, str, str]:
    if not norm == norm or norm == float("inf"):  # NaN or ∞: the worst news, drawn boldest
        return _BAD[:3]
    if norm == 0 or largest == 0:
        return _ZERO[:3]
    ratio = norm / largest
    for low, colour, width, style, _ in _SHADES:
        if ratio >= low:
            return colour, width, style
    return _SHADES[-1][1:4]


def _legend() -> str:
    rows = "".join(
        f'<tr><td><font color="{c}">━━━</font></td><td align="left">{text}</td></tr>'
        for _, c, _, _, text in _SHADES
    )
    rows += f'<tr><td><font color="{_ZERO[0]}">┈┈┈</font></td><td align="left">{_ZERO[3]}</td></tr>'
    rows += f'<tr><td><font color="{_BAD[0]}"><b>━━━</b></font></td><td align="left">{_BAD[3]}</td></tr>'
    rows += f'<tr><td><font color="{_NO_GRAD[0]}">───</font></td><td align="left">no gradient (constant)</td></tr>'
    return (
        '<<table border="0" cellborder="0" cellspacing="2">'
        '<tr><td colspan="2"><b>edge colour: ‖δ‖ of the tensor it leaves</b></td></tr>'
        f"{rows}</table>>"
    )


def draw_graph(
    root: Tensor,
    *,
    params: Any = None,
    show_data: bool = False,
    show_grad: bool = True,
    rankdir: str = "LR",
) -> graphviz.Digraph:
    """The graph that produced `root` as a `graphviz.Digraph`: one node per op or leaf tensor.

    Op nodes show the op's name, the shape and dtype of its result; leaves show their `name`, or
    their parameter name when `params` (a module with `named_parameters()` or a `{name: Tensor}`
    dict) is given, and sit in one cluster per module (`encoder.0.weight` in cluster `encoder.0`
    inside cluster `encoder`). An op that reads only one module's tensors (such as `W.T`) joins it.

    With `show_grad`, once `backward()` has filled the leaves' `.grad`, every node shows ‖δ‖, the
    norm of ∂root/∂(its tensor), and edges are shaded by it (a legend explains the colours), so
    vanishing gradients stand out. For a one-element root this costs one extra gradient pass
    through `autodiff.grad`, which touches no `.grad`; for a larger root only leaves show theirs.
    `show_data` adds a summary of each tensor's values. Node ids `n0, n1, …` follow the engine's
    topological order (root first, as backward visits them; `explain` uses the same ids), so the
    DOT source is stable. `dot.source` is the DOT text; rendering it (`save_graph`, or display in
    Jupyter) needs Graphviz's `dot` program.

    >>> import autodiff as ad
    >>> w = ad.Tensor([1.0, -2.0], requires_grad=True, name="w")
    >>> loss = (w * w).sum()
    >>> dot = ad.draw_graph(loss)
    >>> [line.strip() for line in dot.source.splitlines() if "->" in line]
    ['n1 -> n0', 'n2 -> n1', 'n2 -> n1']
    >>> loss.backward()
    >>> "‖δ‖ = 4.472" in ad.draw_graph(loss, params={"w": w}).source
    True
    """
    import graphviz

    graph = collect(root, params, "draw_graph")
    if rankdir not in _RANKDIRS:
        raise ValueError(f"draw_graph: rankdir must be one of {', '.join(_RANKDIRS)}, got {rankdir!r}")
    norms = _norms(graph) if show_grad else None
    largest = max((v for v in norms.values() if v == v and v != float("inf")), default=0.0) if norms else 0.0

    dot = graphviz.Digraph(
        "autodiff",
        graph_attr={"rankdir": rankdir, "fontname": _FONT, "fontsize": "11", "nodesep": "0.25"},
        node_attr={"shape": "box", "style": "rounded,filled", "fontname": _FONT, "fontsize": "10"},
        edge_attr={"arrowsize": "0.7", "color": "#555555"},
    )
    clusters: dict[tuple[str, ...], graphviz.Digraph] = {}
    for t in graph.order:
        path = graph.clusters.get(t, ())
        target = dot
        if path:
            for depth in range(1, len(path) + 1):
                if path[:depth] not in clusters:
                    clusters[path[:depth]] = graphviz.Digraph(
                        f"cluster_m{len(clusters)}",
                        graph_attr={"label": path[depth - 1], "style": "rounded,dashed", "color": "#8c8c8c"},
                    )
            target = clusters[path]
        target.node(graph.ids[t], graphviz.nohtml(_label(graph, t, norms, show_data)), **_node_style(graph, t))
    # Innermost clusters first: `subgraph` copies a cluster's body into its parent when called.
    for path in sorted(clusters, key=len, reverse=True):
        parent = clusters[path[:-1]] if len(path) > 1 else dot
        parent.subgraph(clusters[path])

    for t in graph.order:
        ctx = t._ctx
        if ctx is None:
            continue
        head = graph.ids[t]
        for p in ctx[1]:
            if p is None:
                continue
            dot.edge(graph.ids[p], head, **_edge_style(p, norms, largest))
    if norms:
        dot.node("legend", _legend(), shape="plaintext", style="")
    return dot


def _norms(graph: Graph) -> dict[Tensor, float] | None:
    """Gradient norms to show: none before backward (no leaf has a `.grad` yet)."""
    from_leaves = leaf_grad_norms(graph)
    if not from_leaves:
        return None
    return gradient_norms(graph) or from_leaves


def _label(graph: Graph, t: Tensor, norms: dict[Tensor, float] | None, show_data: bool) -> str:
    lines = [graph.names[t].replace("\\", "\\\\"), fmt_type(t)]
    if show_data:
        lines.append(summarize(t.data))
    if norms is not None and t in norms:
        lines.append(f"‖δ‖ = {fmt_norm(norms[t])}")
    return "\\n".join(lines)


def _node_style(graph: Graph, t: Tensor) -> dict[str, str]:
    if t is graph.root:
        return {"fillcolor": _FILL_ROOT, "penwidth": "2"}
    if t._ctx is not None:
        return {"fillcolor": _FILL_OP}
    if t.requires_grad:
        return {"fillcolor": _FILL_PARAM, "shape": "box", "style": "filled"}
    return {"fillcolor": _FILL_CONST, "shape": "box", "style": "filled"}


def _edge_style(p: Tensor, norms: dict[Tensor, float] | None, largest: float) -> dict[str, str]:
    if norms is None:
        return {}
    if not p.requires_grad:
        colour, width, style = _NO_GRAD
    elif p in norms:
        colour, width, style = _shade(norms[p], largest)
    else:
        return {}
    return {"color": colour, "penwidth": width, "style": style}


def save_graph(root: Tensor, path: str | os.PathLike[str], **kw: Any) -> Path:
    """Draw the graph of `root` (see `draw_graph`, which takes `kw`) and write it to `path`.

    The suffix picks the format: `.svg`, `.png` or `.pdf`, rendered by Graphviz's `dot` program;
    `.dot` or `.gv` writes the DOT source, which needs no Graphviz. Returns the path written. When
    `dot` is missing, a `RuntimeError` says how to install it, and nothing is written.

    >>> import autodiff as ad, tempfile, pathlib
    >>> x = ad.Tensor([0.5, 1.0], requires_grad=True, name="x")
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "graph.dot"
    >>> ad.save_graph(x.tanh().sum(), out).read_text().startswith("digraph autodiff {")
    True
    """
    if not isinstance(root, Tensor):
        raise TypeError(f"save_graph: root must be a Tensor, got {type(root).__name__}")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _FORMATS and suffix not in _SOURCE_SUFFIXES:
        raise ValueError(
            f"save_graph: cannot tell the format from {path.name!r}; end the file name in "
            ".svg, .png or .pdf (rendered by Graphviz's dot), or .dot / .gv for the DOT source"
        )
    if not path.parent.is_dir():
        raise FileNotFoundError(f"save_graph: the folder {str(path.parent)!r} does not exist")
    dot = draw_graph(root, **kw)
    if suffix in _SOURCE_SUFFIXES:
        _write(path, dot.source.encode("utf-8"))
        return path

    import graphviz

    if shutil.which("dot") is None:
        raise _missing_dot(path)
    try:
        data = dot.pipe(format=_FORMATS[suffix])
    except graphviz.ExecutableNotFound:
        raise _missing_dot(path) from None
    _write(path, data)
    return path


def _missing_dot(path: Path) -> RuntimeError:
    return RuntimeError(
        f"save_graph: Graphviz's `dot` program is not installed (not found on PATH), so nothing was "
        f"written to {str(path)!r}. Install Graphviz: `sudo apt-get install graphviz` on Debian or "
        "Ubuntu, `brew install graphviz` on macOS (see https://graphviz.org/download/). Without it "
        f"you can still save the DOT source: `ad.save_graph(root, {str(path.with_suffix('.dot'))!r})` "
        "or `ad.draw_graph(root).source`."
    )


def _write(path: Path, data: bytes) -> None:
    # Everything is rendered in memory first, so a failed render never leaves a file behind.
    path.write_bytes(data)
