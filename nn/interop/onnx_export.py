"""`export_onnx`: the network as an ONNX graph, one node (or a few) per layer (`nn.interop.onnx_layers`).

The graph takes `input` and gives `output`; weights are initializers in the dtype asked for
(float32 or float64; by default the model's own). The input's shape follows from the first layer
(Linear: (batch, in_features); Conv1d: (batch, C, length); Conv2d: (batch, C, height, width);
Embedding: integer (batch, sequence); RNN, LSTM, GRU, MultiheadAttention, TransformerEncoderLayer:
(sequence, batch, features), batch first with batch_first) or is given as `input_shape` (None or
a name for a free axis). Layers are written as in eval mode (Dropout the identity, BatchNorm its
running statistics). A recurrent layer is exported alone (`nn.interop.onnx_rnn`): `output` is its
sequence output, the first of the (output, h_n) it returns; so is LSTMCell (its h'), and
MultiheadAttention, as self-attention without masks (`nn.interop.onnx_attention`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from autodiff.dtypes import float_dtype
from autodiff.extras import require
from nn.interop import kind_of, unsupported, walk
from nn.modules.module import Module

OPSET = 17
IR_VERSION = 8  # what onnxruntime of the last years reads


def _shaped_inputs() -> dict[type, Any]:
    """The recurrent and attention kinds, and the graph input's shape for each (batched sequences; a cell's batch)."""
    from nn.interop import onnx_attention, onnx_rnn

    return {**{kind: onnx_rnn.input_shape for kind in (*onnx_rnn.RECURRENT, *onnx_rnn.CELLS)},
            **{kind: onnx_attention.input_shape for kind in (*onnx_attention.ALONE, *onnx_attention.LAYERS)}}


def _input_shape(first: Module, input_shape: Any) -> list[Any] | None:
    import nn

    kind = kind_of(first, "export_onnx")
    shaped = _shaped_inputs()
    if kind in shaped and input_shape is not None:
        default = shaped[kind](first)
        if len(input_shape) != len(default) or input_shape[-1] not in (None, default[-1]):
            raise ValueError(f"export_onnx: {kind.__name__}'s graph takes a batched ({len(default)}-D) input of "
                             f"{default[-1]} features, got input_shape {tuple(input_shape)}")
    if input_shape is not None:
        return [f"axis{i}" if n is None else n for i, n in enumerate(input_shape)]
    if kind in shaped:
        return shaped[kind](first)
    if kind is nn.Linear:
        return ["batch", first.in_features]
    if kind in (nn.Conv1d, nn.ConvTranspose1d):
        return ["batch", first.in_channels, "length"]
    if kind in (nn.Conv2d, nn.ConvTranspose2d):
        return ["batch", first.in_channels, "height", "width"]
    if kind is nn.Embedding:
        return ["batch", "sequence"]
    return None


def export_onnx(module: Module, path: Any, dtype: Any = None, input_shape: Any = None) -> None:
    """Write `module` (Sequential, MLP, the kinds of `nn.interop.onnx_layers`, RNNCell, GRUCell and
    TransformerEncoderLayer; or RNN/LSTM/GRU/LSTMCell/MultiheadAttention alone) as an ONNX model to `path`.

    Anything the graph cannot express faithfully (a custom module, a Sequential subclass with its
    own forward, a recurrent or attention layer inside a container) is refused with a TypeError
    naming it, before anything is written.
    """
    from nn.interop import onnx_attention
    from nn.interop.onnx_layers import LAYERS, Graph
    from nn.interop.onnx_rnn import CELLS, RECURRENT

    alone = {**RECURRENT, **onnx_attention.ALONE}  # their forward returns a tuple
    writers = {**LAYERS, **CELLS, **onnx_attention.LAYERS, **alone}
    layers = list(walk(module, "export_onnx"))
    kinds = [kind_of(m, "export_onnx") for m in layers]
    for m, kind in zip(layers, kinds):
        if kind not in writers:
            raise unsupported(m, "export_onnx", "is not supported by export_onnx", writers)
        if kind in alone and m is not module:
            # what a container does with (output, state) is not one graph output
            raise TypeError(f"export_onnx: {type(m).__name__} is not supported by export_onnx inside "
                            f"{type(module).__name__} (it returns a tuple (output, …)); export the "
                            f"{type(m).__name__} itself, whose graph's output is its first output")
    shape = _input_shape(layers[0], input_shape) if layers else None
    if shape is None:
        raise ValueError("export_onnx: the module has no Linear layer (or convolution, or Embedding) first, so its "
                         "input size is unknown; pass input_shape")
    require(["onnx"], "onnx", "nn.export_onnx")
    import onnx
    from onnx import TensorProto, helper

    import nn

    if dtype is None:
        floats = [p.data.dtype for m in layers for p in m.parameters()]
        dtype = floats[0] if floats else np.float64
    dtype = float_dtype(dtype)
    elem = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE}.get(dtype)
    if elem is None:
        raise TypeError(f"export_onnx: dtype must be float32 or float64, got {dtype}")
    graph = Graph(dtype)
    name = "input"
    for m, kind in zip(layers, kinds):
        name = writers[kind](graph, m, name)
    graph.nodes.append(helper.make_node("Identity", [name], ["output"]))
    in_elem = TensorProto.INT64 if kinds[0] is nn.Embedding else elem
    proto = helper.make_graph(
        graph.nodes,
        type(module).__name__,
        [helper.make_tensor_value_info("input", in_elem, shape)],
        [helper.make_tensor_value_info("output", elem, None)],
        graph.weights,
    )
    model = helper.make_model(proto, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="autodiff")
    model.ir_version = IR_VERSION
    # the output's shape as ONNX's own inference finds it (the checker wants one: its rank, at least)
    inferred = {v.name: v for v in onnx.shape_inference.infer_shapes(model).graph.value_info}
    if name in inferred:
        model.graph.output[0].type.CopyFrom(inferred[name].type)
    onnx.checker.check_model(model, full_check=True)
    Path(path).write_bytes(model.SerializeToString())
