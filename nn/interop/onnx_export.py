"""`export_onnx`: the network as an ONNX graph, one Gemm per Linear and the activations as ONNX ops.

The graph takes `input` of shape (batch, in_features) and gives `output`; weights are
initializers in the dtype asked for (float32 or float64; by default the model's own).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from autodiff.dtypes import float_dtype
from autodiff.extras import require
from nn.interop import ACTIVATIONS, flatten
from nn.modules.linear import Linear
from nn.modules.module import Module

OPSET = 17
IR_VERSION = 8  # what onnxruntime of the last years reads


def export_onnx(module: Module, path: Any, dtype: Any = None) -> None:
    """Write `module` (Linear, activations, Sequential, MLP) as an ONNX model to `path`."""
    layers = list(flatten(module, "export_onnx"))
    linears = [m for m in layers if type(m) is Linear]
    if not linears:
        raise ValueError("export_onnx: the module has no Linear layer, so its input size is unknown")
    require(["onnx"], "onnx", "nn.export_onnx")
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    dtype = float_dtype(linears[0].weight.data.dtype if dtype is None else dtype)
    elem = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE}.get(dtype)
    if elem is None:
        raise TypeError(f"export_onnx: dtype must be float32 or float64, got {dtype}")
    nodes, weights, name = [], [], "input"
    for i, m in enumerate(layers):
        out = f"h{i}"
        if type(m) is Linear:
            inputs = [name, f"{i}.weight"]
            weights.append(numpy_helper.from_array(m.weight.data.astype(dtype), f"{i}.weight"))
            if m.bias is not None:
                inputs.append(f"{i}.bias")
                weights.append(numpy_helper.from_array(m.bias.data.astype(dtype), f"{i}.bias"))
            nodes.append(helper.make_node("Gemm", inputs, [out], transB=1))  # x Wᵀ + b
        else:
            nodes.append(helper.make_node(ACTIVATIONS[type(m)][1], [name], [out]))
        name = out
    nodes.append(helper.make_node("Identity", [name], ["output"]))
    graph = helper.make_graph(
        nodes,
        type(module).__name__,
        [helper.make_tensor_value_info("input", elem, ["batch", linears[0].in_features])],
        [helper.make_tensor_value_info("output", elem, ["batch", _out_features(layers)])],
        weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="autodiff")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    Path(path).write_bytes(model.SerializeToString())


def _out_features(layers: list[Module]) -> int:
    return next(m.out_features for m in reversed(layers) if type(m) is Linear)
