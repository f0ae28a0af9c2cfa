"""The Python code that rebuilds a playground network from its exported weights."""

from __future__ import annotations

from nn.playground.serve.features import SOURCE
from nn.playground.serve.settings import Settings

WEIGHTS_FILE = "playground-weights.npz"


def python_code(settings: Settings, epoch: int, weights_file: str = WEIGHTS_FILE) -> str:
    """A runnable script: the same features and network, the weights loaded from `weights_file`.

    >>> code = python_code(Settings(), epoch=12)
    >>> "nn.MLP([2, 8, 8, 2], activation='tanh')" in code
    True
    """
    s = settings
    columns = ", ".join(SOURCE[f][1] for f in s.inputs)
    if s.regression:
        use = (
            "X = np.linspace(-3, 3, 7)[:, None]  # points x, one per row\n"
            "y = model(features(X)).numpy()[:, 0]  # the network's fit of sin(x)\n"
            "print(np.round(y, 3))\n"
        )
    else:
        use = (
            "X = np.array([[0.5, 0.5], [-0.5, 0.25]])  # points (x1, x2), one per row\n"
            "logits = model(features(X)).numpy()\n"
            "print(logits.argmax(axis=1))  # the predicted class of each point\n"
        )
    return (
        f'"""The network trained in the autodiff playground: {s.dataset}, layers {"-".join(map(str, s.sizes))} '
        f'{s.activation}, after {epoch} epochs.\n\n'
        f'Its weights are in {weights_file}, exported from the same page.\n"""\n\n'
        "import numpy as np\n\n"
        "import nn\n\n\n"
        "def features(X):\n"
        f'    """The inputs the network was trained on: {", ".join(s.inputs)}."""\n'
        f"    return np.stack([{columns}], axis=1)\n\n\n"
        f"model = nn.MLP({s.sizes}, activation={s.activation!r})\n"
        f"model.load({weights_file!r})\n\n"
        f"{use}"
    )
