"""`python -m nn.playground`: the same as the `autodiff-playground` command."""

import sys

from nn.playground.run import main

if __name__ == "__main__":
    sys.exit(main())
