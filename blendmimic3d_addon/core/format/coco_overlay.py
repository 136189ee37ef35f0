"""A COCO annotation drawn over its image: the mask tinted, the box outlined, the keypoints
coloured by COCO's v (green 2 visible, red 1 hidden; v = 0 is not drawn). Pure numpy."""

import numpy as np

from ..occlusion.qa_overlay import default_sizes, draw_disc, draw_segment
from . import coco

V_COLOURS = {2: (40, 220, 60), 1: (235, 30, 30)}
_TINTS = ((60, 140, 255), (255, 170, 40), (200, 80, 255), (40, 220, 220))
BOX_COLOUR = (255, 255, 255)


def draw(frame, annotations, masks=None, skeleton=coco.COCO_SKELETON):
    """A copy of ``frame`` (H,W,3) uint8 with ``annotations`` drawn; ``masks``: one (H,W) bool
    per annotation (or None) to tint."""
    out = np.array(frame, dtype=np.uint8, copy=True)[..., :3]
    radius, thickness = default_sizes(*out.shape[:2])
    for n, ann in enumerate(annotations):
        tint = np.array(_TINTS[ann.get("track_id", n) % len(_TINTS)], dtype=np.float64)
        if masks is not None and masks[n] is not None:
            pixels = out[masks[n]].astype(np.float64)
            out[masks[n]] = (0.45 * pixels + 0.55 * tint).astype(np.uint8)
        x, y, w, h = ann["bbox"]
        corners = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
        for a, b in zip(corners, corners[1:] + corners[:1], strict=True):
            draw_segment(out, a, b, thickness, BOX_COLOUR)
        points = np.array(ann["keypoints"], dtype=np.float64).reshape(-1, 3)
        for a, b in skeleton:
            if points[a - 1, 2] > 0 and points[b - 1, 2] > 0:
                colour = V_COLOURS[int(min(points[a - 1, 2], points[b - 1, 2]))]
                draw_segment(out, points[a - 1, :2], points[b - 1, :2], thickness, colour)
        for px, py, v in points:
            if v > 0:
                draw_disc(out, (px, py), radius, V_COLOURS[int(v)])
    return out
