"""The lecture's nine TensorFlow playground questions, each a one-click set-up and what to look for."""

from __future__ import annotations

from typing import Any

from nn.playground.serve.settings import Settings

# (question, settings on top of the defaults, what to look for). Each was run here to check the story holds.
_PRESETS: list[tuple[str, dict[str, str], str]] = [
    (
        "1. A linear decision boundary",
        {"dataset": "gauss", "hidden": ""},
        "With no hidden layer the network is a perceptron, y = softmax(W x + b): its boundary is a straight line. "
        "It splits the two blobs; switch the data set to circle and watch it fail.",
    ),
    (
        "2. Overfitting",
        {"dataset": "xor", "noise": "50", "train-ratio": "10", "hidden": "16,16,16"},
        "Fifty noisy training points and a big network: the training loss falls towards 0 while the test loss "
        "turns up, and the boundary bends around single points.",
    ),
    (
        "3. Underfitting",
        {"dataset": "spiral", "hidden": "2"},
        "Two hidden units are two soft lines: no way to wind around a spiral, so both losses stay high. "
        "Add units (+) and watch it start to fit.",
    ),
    (
        "4. Local minima",
        {"dataset": "circle", "hidden": "3", "activation": "relu"},
        "Three ReLU units can fence the inner class in with a triangle, and from seed 4 gradient descent finds it "
        "(100 %). From this start (seed 0) it settles in a worse valley near 80 %: the loss stops falling and stays, "
        "however long you play. Press the dice beside the seed: most starts get stuck. Then add units (+): eight "
        "find a good valley from every start.",
    ),
    (
        "5. The squares",
        {"dataset": "spiral"},
        "Each square is one unit's output z_j over the whole input plane (blue +1, orange −1). The first layer's "
        "units are soft half-planes, tanh of a line; the next layer combines them into curves.",
    ),
    (
        "6. The links",
        {"dataset": "circle", "hidden": "4"},
        "Each link is a weight w_ji: blue positive, orange negative, thicker for larger |w|. Click a link to type a "
        "new weight and watch the unit squares and the boundary follow.",
    ),
    (
        "7. ReLU: a polyhedral boundary",
        {"dataset": "circle", "activation": "relu", "hidden": "4"},
        "A ReLU unit is 0 on one side of a line and linear on the other, so the boundary is made of straight pieces: "
        "a polygon around the inner class.",
    ),
    (
        "8. The spiral: a harder problem",
        {"dataset": "spiral", "activation": "sigmoid", "hidden": "8,8,8"},
        "The arms wind around each other, so the network must carve many turns out of half-planes. With three "
        "layers of sigmoid units it barely learns: the gradient chart shows why, the first layer's ‖∂E/∂W‖ hundreds "
        "of times below the last one's (each σ' ≤ ¼ on the way back). Switch to tanh and watch it go.",
    ),
    (
        "9. Generalisation",
        {"dataset": "xor", "noise": "50", "train-ratio": "10", "hidden": "16,16,16", "regularization": "L2",
         "reg-rate": "0.003"},
        "The test loss estimates how well the network does on new data. This is question 2's overfitting set-up "
        "with L2 weight decay: after a few hundred epochs its test loss is about half of question 2's and much "
        "closer to its training loss: a smoother boundary generalises better. (Try λ = 0.01: too much, and it "
        "can stop learning at all.)",
    ),
]


# The presets' buttons, short enough for nine in a row at 1024 px; the title is their tooltip.
SHORT = ("1 linear", "2 overfit", "3 underfit", "4 local minima", "5 squares", "6 links", "7 ReLU", "8 vanishing δ",
         "9 generalise")


def presets() -> list[dict[str, Any]]:
    """The presets as the page gets them: a title, every setting (defaults filled in) and a sentence."""
    base = Settings()
    return [
        {"title": title, "short": SHORT[i], "settings": base.update(values)[0].fragment(), "text": text}
        for i, (title, values, text) in enumerate(_PRESETS)
    ]
