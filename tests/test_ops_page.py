"""docs/ops.md, the list of every op with its derivative rule, is generated from the op registry (each
op's rule is the first line of its forward's docstring) and must match it: this test fails when an op
is added, removed or its rule changed without regenerating the page.

Regenerate with:  .venv/bin/python -m tests.test_ops_page
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import autodiff as ad
import autodiff.ops as ops
from autodiff.numpy_api import NUMPY
from autodiff.op import registry

PAGE = Path(__file__).resolve().parent.parent / "docs" / "ops.md"

HEADER = """# Ops and their derivatives

Every differentiable op of the engine, family by family, with the rule its backward pass applies:
z is the op's result, δ_z the gradient arriving at it (∂E/∂z), δ_x the gradient it passes to input x.
Each is reachable as an `ad.` function, as a Tensor method where NumPy or PyTorch has one, and through
NumPy (`np.tanh(t)`, `np.sum(t, axis=0)`) where NumPy has the function; every one takes `dim=` for
`axis=` and `keepdim=` for `keepdims=`. Broadcast inputs get their gradients summed back to their shapes.

This page is generated from the op registry (`python -m tests.test_ops_page`; `tests/test_ops_page.py`
checks it is current): the rule is the first line of the op's docstring, the same text `ad.explain`
prints.
"""


def _code(text: str) -> str:
    """`text` as a Markdown code span, whatever backticks it holds."""
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _numpy_names(fn) -> list[str]:
    return sorted(f"np.{name}" for name, (ours, _, _) in NUMPY.items() if ours is fn)


def _family(module: str) -> str:
    doc = (importlib.import_module(module).__doc__ or module).strip().split("\n")[0]
    return doc.rstrip(".")


def _public(name: str):
    """The public function for the registered op `name`, or None for an op used only inside others."""
    return getattr(ops, name, None) if name in ops.__all__ else None


def render() -> str:
    by_module: dict[str, list[str]] = {}
    for name, o in sorted(registry.items()):
        module = o.forward.__module__
        if not module.startswith("autodiff."):
            continue
        fn = _public(name)
        if fn is None:
            where = ["used inside other ops"]
        else:
            where = [f"`ad.{n}`" for n in sorted(ops.__all__) if getattr(ops, n) is fn]
            where += [f"`Tensor.{n}`" for n in sorted(ops.__all__) if getattr(ops, n) is fn and hasattr(ad.Tensor, n)]
            where += [f"`{n}`" for n in _numpy_names(fn)]
        by_module.setdefault(module, []).append(f"- **{name}**: {_code(o.rule)} ({', '.join(where)})")
    lines = [HEADER]
    for module in sorted(by_module):
        lines += [f"## {_family(module)}", "", f"`{module}`", "", *by_module[module], ""]
    composed = sorted(n for n in ops.__all__ if n not in registry and getattr(getattr(ops, n), "op", None) is None)
    lines += [
        "## Composed of ops, or without a gradient",
        "",
        "Functions of the ops above (their gradient is the chain rule through those ops), and answers that",
        "carry no gradient by nature (indices, booleans), which come back as NumPy arrays.",
        "",
    ]
    for name in composed:
        fn = getattr(ops, name)
        doc = " ".join((fn.__doc__ or "").strip().split("\n\n")[0].split())  # its first paragraph
        where = [f"`ad.{name}`"] + ([f"`Tensor.{name}`"] if hasattr(ad.Tensor, name) else []) + [
            f"`{n}`" for n in _numpy_names(fn)]
        lines.append(f"- **{name}**: {_code(doc)} ({', '.join(where)})")
    return "\n".join(lines).rstrip() + "\n"


def test_the_ops_page_is_current():
    assert PAGE.read_text() == render(), "docs/ops.md is stale: run .venv/bin/python -m tests.test_ops_page"


def test_every_registered_op_of_the_engine_is_listed_with_its_rule():
    text = PAGE.read_text()
    for name, o in registry.items():
        if o.forward.__module__.startswith("autodiff."):
            assert f"- **{name}**: " in text and o.rule, name


if __name__ == "__main__":
    PAGE.write_text(render())
    sys.stdout.write(f"wrote {PAGE}\n")
