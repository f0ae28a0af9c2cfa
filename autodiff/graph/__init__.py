"""Seeing backprop: the recorded graph drawn with Graphviz, and the backward pass told step by step."""

from autodiff.graph.dot import draw_graph, save_graph
from autodiff.graph.explain import explain

__all__ = ["draw_graph", "explain", "save_graph"]
