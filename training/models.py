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
    its neighbour toward the spine, its neighbours away from it, its symmetric joint, itself in
    the next frame and itself in the previous frame.

    Works on (B, C, T, J). The joint and its two temporal neighbours are a (3, 1) convolution
    over frames (zero outside the window); the three spatial classes are gathered with fixed
    (J, J) matrices and weighted by a 1x1 convolution."""

    def __init__(self, c_in, c_out, adj):
        super().__init__()
        self.temporal = nn.Conv2d(c_in, c_out, (3, 1), padding=(1, 0))
        self.spatial = nn.Conv2d(3 * c_in, c_out, 1, bias=False)
        joints = adj.shape[1]
        # x @ gather == [up x | down x | symmetric x] along the joint axis
        self.register_buffer("gather", torch.as_tensor(adj.transpose(2, 0, 1).reshape(joints, -1)))

    def forward(self, x):
        b, c, t, j = x.shape
        neighbours = torch.matmul(x, self.gather).reshape(b, c, t, j, 3)
        neighbours = neighbours.permute(0, 4, 1, 2, 3).reshape(b, 3 * c, t, j)
        return self.temporal(x) + self.spatial(neighbours)


class GCNRefiner(nn.Module):
    """Residual refiner: poses over a window -> corrections. ``depth`` graph layers reach
    ``depth`` frames each side, so a window of 2*depth+1 frames gives the centre frame
    exactly the output it has inside a longer sequence."""

    def __init__(self, parents, symmetric, channels=64, depth=4, dropout=0.0):
        super().__init__()
        adj = adjacency(parents, symmetric)
        joints = len(parents)
        self.depth = depth
        self.joint_embedding = nn.Parameter(torch.zeros(1, channels, 1, joints))
        self.layers = nn.ModuleList(
            [STGraphConv(3, channels, adj)]
            + [STGraphConv(channels, channels, adj) for _ in range(depth - 1)]
        )
        # BatchNorm acts per node at inference (a fixed affine map), so windows stay exact.
        self.norms = nn.ModuleList(nn.BatchNorm2d(channels) for _ in range(depth))
        self.dropout = nn.Dropout(dropout) if dropout else nn.Identity()
        self.head = nn.Conv2d(channels, 3, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        root_mask = torch.ones(1, 1, 1, joints)
        root_mask[..., 0] = 0.0
        self.register_buffer("root_mask", root_mask)

    @property
    def window(self):
        return 2 * self.depth + 1

    def forward(self, poses):
        """(B, T, J, 3) root-relative metres -> (B, T, J, 3) refined, root at zero."""
        x = poses.permute(0, 3, 1, 2)
        h = self.layers[0](x) + self.joint_embedding
        h = self.dropout(torch.relu(self.norms[0](h)))
        for layer, norm in zip(self.layers[1:], self.norms[1:], strict=True):
            h = h + self.dropout(torch.relu(norm(layer(h))))
        out = (x + self.head(h)) * self.root_mask
        return out.permute(0, 2, 3, 1)


class CentreFrame(nn.Module):
    """The shipped graph: (B, window, J, 3) -> (B, J, 3), the refined centre frame."""

    def __init__(self, refiner):
        super().__init__()
        self.refiner = refiner

    def forward(self, windows):
        return self.refiner(windows)[:, self.refiner.depth]
