"""`Embedding`: a lookup table of learnt vectors, one row per index, torch's layout and numbers."""

from __future__ import annotations

from typing import Any

import numpy as np

import autodiff as ad
from autodiff import Tensor
from nn.modules.module import Module
from nn.parameter import Parameter


def _indices(indices: Any, num_embeddings: int) -> np.ndarray:
    """The integer indices as an ndarray, refused loudly when they are not integers or out of range."""
    if isinstance(indices, Tensor):
        indices = indices.data
    idx = np.asarray(indices)
    if idx.dtype.kind not in "iu":
        if idx.dtype.kind == "f" and idx.size and np.all(np.isfinite(idx)) and np.all(idx == np.round(idx)):
            idx = idx.astype(np.intp)  # our Tensors hold floats: whole-number values are indices
        elif idx.size or idx.dtype.kind not in "fb":
            raise TypeError(f"Embedding: indices must be integers, got an array of {idx.dtype}")
        else:
            idx = idx.astype(np.intp)
    if idx.size and (idx.min() < -num_embeddings or idx.max() >= num_embeddings):
        bad = idx[(idx < -num_embeddings) | (idx >= num_embeddings)].flat[0]
        raise IndexError(f"Embedding: index {bad} is out of range for {num_embeddings} embeddings")
    return idx


class Embedding(Module):
    """z = W[index]: row `index` of the table W (num_embeddings, embedding_dim), for each index.

    As torch's: W starts N(0, 1) (drawn from `rng`); the row of `padding_idx` starts at 0 and gets
    no gradient, so it stays what it is. The gradient of a row is the sum of the δs of the places
    it was looked up. `max_norm` (renormalising rows in place) is not supported.

    >>> import numpy as np
    >>> import nn
    >>> emb = nn.Embedding(10, 3, padding_idx=0, rng=np.random.default_rng(0))
    >>> emb([[1, 2, 0], [4, 4, 9]]).shape
    (2, 3, 3)
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False, _weight: Any = None, _freeze: bool = False,
                 rng: np.random.Generator | None = None, dtype: Any = None) -> None:
        for what, n in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                raise ValueError(f"Embedding: {what} must be a positive int, got {n!r}")
        if max_norm is not None or scale_grad_by_freq or sparse:
            raise NotImplementedError("Embedding: max_norm, scale_grad_by_freq and sparse are not supported")
        if padding_idx is not None:
            if not isinstance(padding_idx, (int, np.integer)) or not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx must be an index into {num_embeddings} embeddings, "
                                 f"got {padding_idx!r}")
            padding_idx = int(padding_idx) % num_embeddings
        self.num_embeddings, self.embedding_dim, self.padding_idx = int(num_embeddings), int(embedding_dim), padding_idx
        if _weight is None:
            rng = ad.default_rng() if rng is None else rng
            table = rng.standard_normal((self.num_embeddings, self.embedding_dim))
            if padding_idx is not None:
                table[padding_idx] = 0.0
        else:
            table = np.array(_weight.data if isinstance(_weight, Tensor) else _weight, dtype=dtype or np.float64)
            if table.shape != (self.num_embeddings, self.embedding_dim):
                raise ValueError(f"Embedding: _weight must have shape {(self.num_embeddings, self.embedding_dim)}, "
                                 f"got {table.shape}")
        self.weight = Parameter(table, dtype=dtype)
        if _freeze:
            self.weight.requires_grad = False

    @classmethod
    def from_pretrained(cls, embeddings: Any, freeze: bool = True, padding_idx: int | None = None) -> Embedding:
        """An Embedding whose table is a copy of `embeddings` (2-D); `freeze` keeps it out of training."""
        table = np.asarray(embeddings.data if isinstance(embeddings, Tensor) else embeddings)
        if table.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D, got shape {table.shape}")
        return cls(table.shape[0], table.shape[1], padding_idx=padding_idx, _weight=table, _freeze=freeze,
                   dtype=table.dtype if table.dtype.kind == "f" else None)

    def forward(self, input: Any) -> Tensor:
        idx = _indices(input, self.num_embeddings)
        rows = self.weight[idx]
        if self.padding_idx is None or not self.weight.requires_grad:
            return rows
        # the same values, but the padding row's look-ups pass no gradient back (torch's padding_idx)
        keep = (idx % self.num_embeddings != self.padding_idx)[..., None]
        return ad.where(keep, rows, rows.detach())

    def extra_repr(self) -> str:
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"
