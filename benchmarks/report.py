"""Tables: the ratio table (text or Markdown), the memory table and the environment."""

from __future__ import annotations

from benchmarks.suite import Row
from benchmarks.workloads import WORKLOADS

#: Targets as ratios to hand-written NumPy: (issue 2, issue 8), by workload and dtype.
TARGETS = {
    ("W1", "float64"): ("", "≤ 2.5×"),
    ("W1", "float32"): ("", "≤ 2.5×"),
    ("W2", "float64"): ("", "≤ 1.3×"),
    ("W2", "float32"): ("", "≤ 1.3×"),
    ("W3", "float64"): ("", "≤ 1.05×"),
    ("W3", "float32"): ("", "≤ 1.10×"),
    ("W4", "float64"): ("≤ 5×", "≤ 3×"),
    ("W4", "float32"): ("≤ 5×", "≤ 3×"),
    ("W5", "float64"): ("≤ 5×", "≤ 4×"),
    ("W5", "float32"): ("≤ 5×", "≤ 4×"),
}

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
                      for i in ("numpy", "ours", "torch"))


HEADER = ["workload", "dtype", "NumPy ref (median)", "ours / NumPy", "torch / NumPy",
          "target issue 2", "target issue 8", "minor faults/step np / ours / torch", "rounds"]


def row_cells(row: Row) -> list[str]:
    label = row.key if row.threads == 1 else f"{row.key} ({row.threads} threads)"
    i2, i8 = TARGETS.get((row.key, row.dtype), ("", ""))
    if row.error:
        return [label, _DT[row.dtype], row.error, "", "", i2 or "—", i8 or "—", "", ""]
    rounds = str(len(next(iter(row.timings.values())).times)) if row.timings else ""
    if row.threads != 1:
        rounds = "separate processes"
    return [label, _DT[row.dtype], _step_time(row), _ratio(row, "ours"), _ratio(row, "torch"),
            i2 or "—", i8 or "—", _faults(row), rounds]


def text_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def memory_rows(peaks: dict, runs: dict) -> tuple[list[str], list[list[str]]]:
    """peaks[dtype][impl] = bytes; runs[dtype][impl] = long_run dict."""
    header = ["W3 memory", "dtype", "NumPy ref", "ours", "ours / NumPy", "torch", "torch / NumPy", "target issue 8"]
    rows = []

    def mb(x: float) -> str:
        return f"{x / 2**20:.2f} MiB"

    def rel(a: float, b: float) -> str:
        return f"{a / b:.2f}×" if b else "—"

    for dt, by in peaks.items():
        n, o = by.get("numpy"), by.get("ours")
        rows.append(["tracemalloc peak within one step", _DT[dt], mb(n), mb(o), rel(o, n), "n/a (not traced)", "—",
                     "≤ 1.3×"])
    for dt, by in runs.items():
        n, o, t = by.get("numpy"), by.get("ours"), by.get("torch")
        steps = n["steps"]
        for what, field, fmt, target in [
            (f"RSS growth over {steps} steps (incl. model build)", "rss_growth", mb, ""),
            (f"RSS drift (after the first {steps // 10} steps)", "drift", mb, "no drift"),
            ("minor page faults per step (own process)", "faults_per_step", lambda x: f"{x:.1f}", ""),
        ]:
            rows.append([what, _DT[dt], fmt(n[field]), fmt(o[field]),
                         rel(o[field], n[field]) if field == "rss_growth" else "—",
                         fmt(t[field]) if t else "—",
                         rel(t[field], n[field]) if t and field == "rss_growth" else "—", target or "—"])
    return header, rows


def describe_workloads() -> str:
    return "\n".join(f"- {w.key}: {w.title}; one step = {w.unit}" for w in WORKLOADS.values())
