"""Where our engine's time goes on one workload: `python -m benchmarks.profiling W4 [--steps N]`.

Runs our implementation of the workload for some steps under pyinstrument (a sampling profiler,
`pip install pyinstrument`) and prints its call tree; `--cprofile` prints cProfile's flat table
instead, whose call counts help and whose times overstate tiny functions.
"""

from __future__ import annotations

import argparse

import benchmarks  # noqa: F401  (pins BLAS threads before NumPy loads)
from benchmarks.suite import IMPLS, applies, build
from benchmarks.workloads import WORKLOADS


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.profiling", description=__doc__)
    ap.add_argument("workload", choices=list(WORKLOADS))
    ap.add_argument("--dtype", default="float64")
    ap.add_argument("--impl", default="ours", choices=list(IMPLS),
                    help="default ours (nn; raw Tensors for W4 and W5, which have no nn version)")
    ap.add_argument("--steps", type=int, default=None, help="default: about 2 s of work")
    ap.add_argument("--cprofile", action="store_true")
    args = ap.parse_args(argv)
    impl = "raw" if args.impl == "ours" and not applies("ours", args.workload) else args.impl
    if not applies(impl, args.workload):
        ap.error(f"{impl} has no runner for {args.workload}")
    runner = build(impl, args.workload, args.dtype)
    runner.step()
    steps = args.steps or {"W1": 4000, "W2": 2000, "W3": 300, "W4": 40, "W5": 400}[args.workload]
    if args.cprofile:
        import cProfile
        import pstats

        with cProfile.Profile() as prof:
            for _ in range(steps):
                runner.step()
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
        return 0
    from pyinstrument import Profiler

    prof = Profiler(interval=0.0002)
    prof.start()
    for _ in range(steps):
        runner.step()
    prof.stop()
    print(prof.output_text(unicode=True, color=False, show_all=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
