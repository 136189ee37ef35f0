"""pycocotools' evaluation of a COCO file's ground truth against itself (a test dependency)."""

import numpy as np


def self_evaluation_ap(gt, category, iou_type="keypoints"):
    """AP@[.5:.95] of ``gt`` (a pycocotools COCO) scored against its own annotations of
    ``category``, given as detections with score 1."""
    from pycocotools.cocoeval import COCOeval

    anns = gt.loadAnns(gt.getAnnIds(catIds=[category]))
    field = "keypoints" if iou_type == "keypoints" else "segmentation"
    results = [{"image_id": a["image_id"], "category_id": category, field: a[field], "score": 1.0}
               for a in anns]  # fmt: skip
    evaluation = COCOeval(gt, gt.loadRes(results), iou_type)
    evaluation.params.catIds = [category]
    evaluation.params.kpt_oks_sigmas = np.full(17, 0.05)  # every layout has 17 points
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    return evaluation.stats[0]
