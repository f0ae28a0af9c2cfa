"""`python -m nn.playground.serve`: the browser playground on 127.0.0.1:8000 (see `autodiff-playground --serve`)."""

import sys

from nn.playground.serve.server import serve

if __name__ == "__main__":
    sys.exit(serve(port=int(sys.argv[1]) if len(sys.argv) > 1 else 8000, open_browser=False))
