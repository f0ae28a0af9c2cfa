"""`python -m benchmarks`: run the suite and print the ratio table (see `--help`)."""

import os
import sys

import benchmarks

# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are set on some machines here for older OpenBLAS builds and
# slow a current NumPy. OpenBLAS reads them once, when NumPy loads it, so they are dropped (both
# together, for this command alone) before anything imports NumPy; the report says so.
if "--keep-openblas-env" not in sys.argv:
    for _var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if _var in os.environ:
            benchmarks.UNSET_ENV[_var] = os.environ.pop(_var)

from benchmarks.cli import main  # NumPy is imported from here on

raise SystemExit(main())
