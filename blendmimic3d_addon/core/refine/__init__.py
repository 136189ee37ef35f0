"""Pose refinement: the GCN runtime (ONNX), classical filters, accuracy and smoothness metrics."""
