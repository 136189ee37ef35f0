"""Training of the bundled GCN pose refiner (outside the extension; needs PyTorch).

One command trains a small VideoPose3D-style lifter, uses it to make realistic 3D predictions
from occlusion-dependent noisy 2D keypoints, trains the GCN refiner on those predictions and
exports it to ONNX: ``.venv-train/bin/python -m training.train --seed 0 --out assets/``.
"""
