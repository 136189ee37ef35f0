"""The two networks: a VideoPose3D-style lifter (2D -> 3D, used only to make realistic training
inputs) and the spatio-temporal GCN refiner that ships as ONNX."""

import numpy as np
import torch
from torch import nn


class Lifter(nn.Module):
    """Temporal convolutions over 2D keypoints (receptive field 27 frames), as VideoPose3D."""

    def __init__(self, joints=17, channels=128, dilations=(3, 9), dropout=0.1):
        super().__init__()
        self.joints = joints
        self.pad = 1 + sum(dilations)
        self.expand = nn.Sequential(
            nn.Conv1d(joints * 2, channels, 3, bias=False),
            nn.BatchNorm1d(channels),
            nn.ReLU(),
            nn.Dropout(dropout),
        )
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.Conv1d(channels, channels, 3, dilation=d, bias=False),
                nn.BatchNorm1d(channels),
                nn.ReLU(),
                nn.Dropout(dropout),
                nn.Conv1d(channels, channels, 1, bias=False),
                nn.BatchNorm1d(channels),
                nn.ReLU(),
                nn.Dropout(dropout),
            )
            for d in dilations
        )
        self.dilations = dilations
        self.head = nn.Conv1d(channels, joints * 3, 1)

    def forward(self, x):
        """(B, L + 2*pad, J, 2) normalised 2D -> (B, L, J, 3) root-relative 3D (root = 0)."""
        b, length = x.shape[:2]
        h = self.expand(x.reshape(b, length, -1).transpose(1, 2))
        for d, block in zip(self.dilations, self.blocks, strict=True):
            h = h[:, :, d:-d] + block(h)
        out = self.head(h).transpose(1, 2).reshape(b, -1, self.joints, 3)
        return out - out[:, :, :1]


def adjacency(parents, symmetric):
    """The three spatial neighbour classes as (J,J) matrices: toward the spine, away from it
    (averaged over children), and the symmetric joint."""
    j = len(parents)
    up, down, sym = np.zeros((j, j)), np.zeros((j, j)), np.zeros((j, j))
    for child, parent in enumerate(parents):
        if parent >= 0:
            up[child, parent] = 1.0
            down[parent, child] = 1.0
    down /= np.maximum(down.sum(1, keepdims=True), 1.0)
    for a, b in symmetric:
        sym[a, b] = sym[b, a] = 1.0
    return np.stack([up, down, sym]).astype(np.float32)


class STGraphConv(nn.Module):
    """One graph convolution with six neighbour classes, each with its own weights: the joint,
    its neighbour toward the spine, its neighbours away from it, its symmetric joint, itself
    ``dilation`` frames later and itself ``dilation`` frames earlier.

    Works on (B, C, J, T) without padding: T frames in, T - 2 * dilation out. The joint and its
    two temporal neighbours are a dilated (1, 3) convolution over frames; the three spatial
    classes are gathered by one fixed (3J, J) matrix, whose output reads as 3C channels without a
    transpose (channel 3c + k is class k of channel c), and weighted by a 1x1 convolution."""

    def __init__(self, c_in, c_out, adj, dilation=1):
        super().__init__()
        self.dilation = dilation
        self.temporal = nn.Conv2d(c_in, c_out, (1, 3), dilation=(1, dilation))
        self.spatial = nn.Conv2d(3 * c_in, c_out, 1, bias=False)
        classes, joints, _ = adj.shape
        # gather @ x == [up x ; down x ; symmetric x] along the joint axis
        self.register_buffer("gather", torch.as_tensor(adj.reshape(classes * joints, joints)))

    def forward(self, x):
        d = self.dilation
        centre = x[..., d:-d]
        b, c, j, t = centre.shape
        neighbours = torch.matmul(self.gather, centre).reshape(b, 3 * c, j, t)
        return self.temporal(x) + self.spatial(neighbours)


CONFIDENCE_UNKNOWN = -1.0  # the confidence channel's value when the caller has none


class GCNRefiner(nn.Module):
    """Residual refiner: poses and per-joint confidence over frames -> corrected poses.

    Dilated graph layers (no padding): ``pad = sum(dilations)`` frames each side are consumed,
    so T + 2 * pad frames in give the T centre frames out, each exactly as a window of
    ``2 * pad + 1`` frames centred on it would. The last layer starts at zero: an untrained
    model returns its input."""

    def __init__(self, parents, symmetric, channels=32, dilations=(1, 2, 4, 8), dropout=0.0):
        super().__init__()
        adj = adjacency(parents, symmetric)
        joints = len(parents)
        self.dilations = tuple(int(d) for d in dilations)
        self.joint_embedding = nn.Parameter(torch.zeros(1, channels, joints, 1))
        self.layers = nn.ModuleList(
            [STGraphConv(4, channels, adj, self.dilations[0])]
            + [STGraphConv(channels, channels, adj, d) for d in self.dilations[1:]]
        )
        # BatchNorm acts per node at inference (a fixed affine map), so windows stay exact.
        self.norms = nn.ModuleList(nn.BatchNorm2d(channels) for _ in self.dilations)
        self.dropout = nn.Dropout(dropout) if dropout else nn.Identity()
        self.head = nn.Conv2d(channels, 3, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        root_mask = torch.ones(1, 1, joints, 1)
        root_mask[:, :, 0] = 0.0
        self.register_buffer("root_mask", root_mask)

    @property
    def pad(self):
        return sum(self.dilations)

    @property
    def window(self):
        """The receptive field in frames."""
        return 2 * self.pad + 1

    def forward(self, poses, confidence):
        """(B, T + 2*pad, J, 3) root-relative metres and (B, T + 2*pad, J) confidence (or
        CONFIDENCE_UNKNOWN) -> (B, T, J, 3) refined centre frames, root at zero."""
        # (B, C, J, T): frames last, so the temporal convolutions run along contiguous memory
        x = torch.cat([poses.permute(0, 3, 2, 1), confidence.transpose(1, 2)[:, None]], dim=1)
        h = self.layers[0](x) + self.joint_embedding
        h = self.dropout(torch.relu(self.norms[0](h)))
        for layer, norm in zip(self.layers[1:], self.norms[1:], strict=True):
            d = layer.dilation
            h = h[..., d:-d] + self.dropout(torch.relu(norm(layer(h))))
        p = self.pad
        out = (x[:, :3, :, p:-p] + self.head(h)) * self.root_mask
        return out.permute(0, 3, 2, 1)


def edge_pad_frames(x, pad):
    """Repeat the first and last frame ``pad`` times along axis 1 (a traceable op for ONNX)."""
    reps = [1] * x.dim()
    reps[1] = pad
    return torch.cat([x[:, :1].repeat(*reps), x, x[:, -1:].repeat(*reps)], dim=1)


class WholeSequence(nn.Module):
    """The shipped graph: (B, T, J, 3) poses and (B, T, J) confidence -> (B, T, J, 3), any T.
    The sequence is edge-padded by ``pad`` frames inside the graph, so frame t comes out as the
    window of frames t - pad .. t + pad (clamped at the ends) gives it."""

    def __init__(self, refiner):
        super().__init__()
        self.refiner = refiner

    def forward(self, poses, confidence):
        p = self.refiner.pad
        return self.refiner(edge_pad_frames(poses, p), edge_pad_frames(confidence, p))


class CentreFrame(nn.Module):
    """The windowed form: (B, window, J, 3) and (B, window, J) -> (B, J, 3), the centre frame."""

    def __init__(self, refiner):
        super().__init__()
        self.refiner = refiner

    def forward(self, windows, confidence):
        return self.refiner(windows, confidence)[:, 0]
