"""COCO keypoint annotations from typed occlusion codes: the layouts, visibility, RLE, boxes.

COCO-17 keypoints: the five face points (nose, eyes, ears; ``FacePoints/`` of an export, see
docs/COCO.md) and twelve body points, which are BlendMimic3D joints (the same bones as the
exported 3D). Visibility from the typed codes: visible -> 2; hidden by the person itself,
another person or an object -> 1; outside the image or behind the camera -> 0 with x = y = 0.
The code itself is kept beside the flag (``occlusion_types``), so nothing the dataset knows is
lost.
"""

import numpy as np

from ..joints import BM3D_JOINTS, H36M_JOINTS, PARENTS_BM3D, PARENTS_H36M
from ..occlusion.labels import OcclusionType

COCO_KEYPOINTS = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip
FACE_POINTS = COCO_KEYPOINTS[:5]
# COCO's own skeleton (1-based keypoint indices), as in person_keypoints_*.json.
COCO_SKELETON = [
    [16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7], [6, 8],
    [7, 9], [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7],
]  # fmt: skip
# COCO keypoints 5..16 as BlendMimic3D joints (index into the published order): shoulders are
# the Arm bones, elbows ForeArm, wrists Hand, hips UpLeg, knees Leg, ankles Foot.
BODY_FROM_BM3D = np.array([14, 11, 15, 12, 16, 13, 1, 4, 2, 5, 3, 6])
# COCO's per-keypoint OKS sigmas (cocoeval), for users who evaluate with these files.
COCO_SIGMAS = (
    np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87,
              .89, .89]) / 10.0
)  # fmt: skip

_VISIBILITY = np.array([2, 1, 1, 1, 0, 0], dtype=np.uint8)  # indexed by OcclusionType
assert [t.value for t in OcclusionType] == list(range(len(_VISIBILITY)))


def _skeleton(parents):
    return [[child + 1, int(parent) + 1] for child, parent in enumerate(parents) if parent >= 0]


# category id: (name, keypoint names, skeleton); id 1 is COCO's person.
LAYOUTS = {
    "coco": (1, "person", COCO_KEYPOINTS, COCO_SKELETON),
    "h36m": (2, "person_h36m", H36M_JOINTS, _skeleton(PARENTS_H36M)),
    "blendmimic3d": (3, "person_blendmimic3d", BM3D_JOINTS, _skeleton(PARENTS_BM3D)),
}


def categories(layouts):
    return [
        {"id": cid, "name": name, "supercategory": "person", "keypoints": list(points),
         "skeleton": skeleton}
        for cid, name, points, skeleton in (LAYOUTS[layout] for layout in layouts)
    ]  # fmt: skip


def coco17(bm3d, face):
    """COCO-17 points (...,17,D) from BlendMimic3D joints (...,17,D) and face points (...,5,D)."""
    return np.concatenate([np.asarray(face), np.asarray(bm3d)[..., BODY_FROM_BM3D, :]], axis=-2)


def visibility(types):
    """COCO's v (uint8) of typed occlusion codes; 0 for a negative code (no data)."""
    types = np.asarray(types, dtype=np.int64)
    return np.where(types < 0, 0, _VISIBILITY[np.clip(types, 0, None)]).astype(np.uint8)


def keypoint_triplets(uv, types):
    """COCO's flat [x1, y1, v1, ...] list: x = y = 0 where v = 0."""
    v = visibility(types)
    xy = np.where(v[:, None] > 0, np.asarray(uv, dtype=np.float64), 0.0)
    out = np.concatenate([xy, v[:, None].astype(np.float64)], axis=1)
    return [float(x) for x in out.ravel()], int(np.count_nonzero(v))


# ---- run-length encoding (pycocotools' compressed RLE) ---------------------------------------


def rle_counts(mask):
    """Run lengths of a (H,W) boolean mask in column-major order, starting with a zero run."""
    flat = np.asarray(mask, dtype=bool).ravel(order="F")
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    edges = np.concatenate([[0], change, [flat.size]])
    counts = np.diff(edges).tolist()
    if flat.size and flat[0]:
        counts.insert(0, 0)
    return counts


def rle_string(counts):
    """pycocotools' ``rleToString``: LEB128-like, 5 bits a char, runs after the second stored
    as the difference to the run two before."""
    chars = []
    for i, count in enumerate(counts):
        x = count - counts[i - 2] if i > 2 else count
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = x != -1 if c & 0x10 else x != 0
            if more:
                c |= 0x20
            chars.append(chr(c + 48))
    return "".join(chars)


def rle_encode(mask):
    """COCO compressed RLE {"size": [h, w], "counts": str} of a (H,W) boolean mask."""
    mask = np.asarray(mask, dtype=bool)
    return {
        "size": [int(mask.shape[0]), int(mask.shape[1])],
        "counts": rle_string(rle_counts(mask)),
    }


def mask_box(mask):
    """COCO bbox [x, y, w, h] of a mask's pixels (whole pixels) and its area; None if empty."""
    rows = np.flatnonzero(mask.any(axis=1))
    if not len(rows):
        return None, 0
    cols = np.flatnonzero(mask.any(axis=0))
    box = [float(cols[0]), float(rows[0]), float(cols[-1] - cols[0] + 1),
           float(rows[-1] - rows[0] + 1)]  # fmt: skip
    return box, int(np.count_nonzero(mask))


def keypoint_box(uv, types, width, height):
    """Without a mask: bbox around the visible keypoints (v = 2), inside the image; None when
    none is visible."""
    seen = np.asarray(uv)[visibility(types) == 2]
    if not len(seen):
        return None, 0
    low = np.clip(seen.min(axis=0), 0, [width, height])
    high = np.clip(seen.max(axis=0), 0, [width, height])
    box = [float(low[0]), float(low[1]), float(high[0] - low[0]), float(high[1] - low[1])]
    return box, float(box[2] * box[3])


def person_annotation(ann_id, image_id, layout, person, uv, types, xyz_cam, mask=None,
                      size=None):  # fmt: skip
    """One COCO annotation of a person in one image, or None when nothing of it is seen (no mask
    pixel; without masks, no visible keypoint).

    person: {"track_id", "name"}; uv (K,2) pixels; types (K,) codes; xyz_cam (K,3) metres in
    the camera frame; mask: the person's (H,W) boolean instance mask, or None (then ``size`` =
    (width, height) and the box comes from the visible keypoints, without segmentation).
    """
    if mask is not None:
        box, area = mask_box(mask)
    else:
        box, area = keypoint_box(uv, types, *size)
    if box is None:
        return None
    keypoints, labelled = keypoint_triplets(uv, types)
    annotation = {
        "id": int(ann_id),
        "image_id": int(image_id),
        "category_id": LAYOUTS[layout][0],
        "iscrowd": 0,
        "bbox": box,
        "area": area,
        "keypoints": keypoints,
        "num_keypoints": labelled,
        "track_id": int(person["track_id"]),
        "person_name": person["name"],
        "occlusion_types": [int(t) if t >= 0 else None for t in np.asarray(types).ravel()],
        "keypoints_xyz": [float(x) for x in np.asarray(xyz_cam, dtype=np.float64).ravel()],
    }
    if mask is not None:
        annotation["segmentation"] = rle_encode(mask)
    return annotation
