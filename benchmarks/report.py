"""Tables: the ratio table (text or Markdown), the memory table and the environment."""

from __future__ import annotations

from typing import Any

from benchmarks.suite import Row
from benchmarks.workloads import WORKLOADS

#: Targets as ratios to hand-written NumPy, by workload, dtype and implementation: `ours` (nn,
#: eagerly) from issue 8, `raw` (plain Tensors, eagerly) and `compiled` from issue 12.
TARGETS = {
    "W1": {"ours": "≤ 2.5×", "raw": "≤ 2.2×", "compiled": "≤ 1.3×"},
    "W2": {"ours": "≤ 1.3×", "raw": "≤ 1.2×", "compiled": "≤ 1.05×"},
    "W3": {"ours": "≤ 1.05×", "raw": "≤ 1.05×", "compiled": "≤ 1.0×"},
    "W4": {"ours": "≤ 3×", "raw": "≤ 2.8×", "compiled": "≤ 1.3×"},
    "W5": {"ours": "≤ 4×", "raw": "≤ 2.5×", "compiled": ""},
}
_W3_F32 = {"ours": "≤ 1.10×"}  # issue 8 allowed float32 W3 a little more

#: The implementations that get a column, in order.
COLUMNS = ("ours", "raw", "compiled", "torch")
_TITLES = {"ours": "nn", "raw": "raw Tensors", "compiled": "compiled", "torch": "torch"}

_DT = {"float64": "f64", "float32": "f32"}


def _ratio(row: Row, impl: str) -> str:
    med, lo = row.ratio(impl), row.ratio(impl, "min")
    if med is None:
        return "—"
    return f"{med:.2f}× ({lo:.2f}×)"


def _step_time(row: Row) -> str:
    t = row.timings.get("numpy")
    if t is None:
        return "—"
    s = t.median / row.ops_per_step  # W5 reports per op
    return f"{s * 1e6:.3g} µs" if s < 1e-3 else f"{s * 1e3:.3g} ms"


def _faults(row: Row) -> str:
    return " / ".join(f"{row.timings[i].faults_per_step:.1f}" if i in row.timings else "—"
                      for i in ("numpy", *COLUMNS))


def _targets(row: Row) -> str:
    by = dict(TARGETS.get(row.key, {}))
    if row.key == "W3" and row.dtype == "float32":
        by.update(_W3_F32)
    return " · ".join(by.get(i) or "—" for i in COLUMNS[:3])


HEADER = ["workload", "dtype", "NumPy ref (median)", *[f"{_TITLES[i]} / NumPy" for i in COLUMNS],
          "targets nn · raw · compiled", "minor faults/step np / " + " / ".join(_TITLES[i] for i in COLUMNS), "rounds"]


def row_cells(row: Row) -> list[str]:
    label = row.key if row.threads == 1 else f"{row.key} ({row.threads} threads)"
    if row.error:
        return [label, _DT[row.dtype], row.error, *[""] * len(COLUMNS), _targets(row), "", ""]
    rounds = str(len(next(iter(row.timings.values())).times)) if row.timings else ""
    if row.threads != 1:
        rounds = "separate processes"
    return [label, _DT[row.dtype], _step_time(row), *[_ratio(row, i) for i in COLUMNS], _targets(row), _faults(row), rounds]


def text_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def memory_rows(peaks: dict, runs: dict) -> tuple[list[str], list[list[str]]]:
    """peaks[dtype][impl] = bytes; runs[dtype][impl] = long_run dict; one column per implementation."""
    impls = [i for i in ("numpy", *COLUMNS) if any(i in by for by in runs.values())]
    header = ["W3 memory", "dtype", *[("NumPy ref" if i == "numpy" else f"{_TITLES[i]} (× NumPy)") for i in impls], "target"]
    rows = []

    def mb(x: float) -> str:
        return f"{x / 2**20:.2f} MiB"

    def cell(by: dict, i: str, fmt: Any, rel: bool) -> str:
        if i not in by:
            return "n/a (not traced)" if i == "torch" else "—"
        x, n = by[i], by["numpy"]
        return fmt(x) if i == "numpy" or not rel or not n else f"{fmt(x)} ({x / n:.2f}×)"

    for dt, by in peaks.items():
        rows.append(["tracemalloc peak within one step (bytes allocated and alive at once)", _DT[dt],
                     *[cell(by, i, mb, True) for i in impls], "compiled ≤ 1.0×, nn ≤ 1.3×"])
    for dt, by in runs.items():
        steps = by["numpy"]["steps"]
        for what, field, fmt, rel, target in [
            (f"RSS growth over {steps} steps (incl. model build)", "rss_growth", mb, True, ""),
            (f"RSS drift (after the first {steps // 10} steps)", "drift", mb, False, "no drift"),
            ("minor page faults per step (own process)", "faults_per_step", lambda x: f"{x:.1f}", False, ""),
        ]:
            rows.append([what, _DT[dt], *[cell({k: v[field] for k, v in by.items()}, i, fmt, rel) for i in impls],
                         target or "—"])
    return header, rows


def describe_workloads() -> str:
    return "\n".join(f"- {w.key}: {w.title}; one step = {w.unit}" for w in WORKLOADS.values())
