"""Finds the ellipsis ("…", three dots on the baseline) that Blender draws where it cuts a
label short, in a picture of its UI (numpy only: it runs inside Blender and on the host).

Light text on Blender's dark theme: a pixel is ink when it is clearly brighter than the darkest
pixel around it. A dot is a small blob of ink (8-connected); an ellipsis is exactly three dots
side by side at one height, evenly close, with nothing above or below them (which tells it from
the dots of i, j and colons, and from the grips' dot grids).
"""

import numpy as np

INK = 60  # brighter than the local background by this much (0-255)


def _min_filter(values, size):
    """The minimum over a size x size window around each pixel (edges padded with the max)."""
    half = size // 2
    out = values
    for axis in (0, 1):
        padded = np.pad(out, [(half, half) if a == axis else (0, 0) for a in (0, 1)],
                        constant_values=values.max())  # fmt: skip
        n = out.shape[axis]
        stacked = [padded.take(range(i, i + n), axis=axis) for i in range(size)]
        out = np.minimum.reduce(stacked)
    return out


def ink_mask(rgb):
    """Pixels of text (and other light marks) on a darker background."""
    lum = np.asarray(rgb, np.float32)[..., :3].mean(axis=2)
    return lum - _min_filter(lum, 9) > INK


def blobs(mask):
    """Bounding boxes (y0, x0, y1, x1, inclusive) of the 8-connected blobs of ``mask``: runs of
    ink along each row, joined to the runs they touch in the row above."""
    parent = []

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    runs, previous = [], []
    for y, row in enumerate(mask):
        edges = np.flatnonzero(np.diff(np.concatenate(([0], row.astype(np.int8), [0]))))
        current = []
        for x0, x1 in zip(edges[::2].tolist(), (edges[1::2] - 1).tolist(), strict=True):
            index = len(runs)
            runs.append((y, x0, x1))
            parent.append(index)
            for other in previous:
                if runs[other][1] <= x1 + 1 and runs[other][2] >= x0 - 1:
                    parent[root(other)] = root(index)
            current.append(index)
        previous = current
    boxes = {}
    for index, (y, x0, x1) in enumerate(runs):
        r = root(index)
        if r in boxes:
            b = boxes[r]
            boxes[r] = (min(b[0], y), min(b[1], x0), max(b[2], y), max(b[3], x1))
        else:
            boxes[r] = (y, x0, y, x1)
    return list(boxes.values())


def dots(mask, largest=3):
    """(x, y, box) of the blobs no larger than largest x largest pixels."""
    return [((x0 + x1) / 2, (y0 + y1) / 2, (y0, x0, y1, x1)) for y0, x0, y1, x1 in blobs(mask)
            if y1 - y0 < largest and x1 - x0 < largest]  # fmt: skip


def _alone_vertically(mask, box, reach):
    """No ink within ``reach`` rows above and below the dot, over its columns and one more."""
    y0, x0, y1, x1 = box
    x0, x1 = max(x0 - 1, 0), x1 + 2
    return (
        not mask[max(y0 - reach, 0) : y0, x0:x1].any()
        and not mask[y1 + 1 : y1 + 1 + reach, x0:x1].any()
    )


def find_ellipses(rgb, scale=1.0):
    """(x, y) of every ellipsis in ``rgb`` (H, W, 3+), in its array's pixel coordinates."""
    mask = ink_mask(rgb)
    largest = max(3, int(round(3 * scale)))
    reach = max(3, int(round(4 * scale)))
    alone = [(x, y) for x, y, box in dots(mask, largest)
             if _alone_vertically(mask, box, reach)]  # fmt: skip
    alone.sort(key=lambda d: (round(d[1]), d[0]))
    step = (1.5 * scale, 5.5 * scale)  # centre to centre, dots of one ellipsis
    chains, used = [], set()
    for i in range(len(alone)):
        if i in used:
            continue
        chain = [i]
        while True:
            cx, cy = alone[chain[-1]]
            nxt = next((j for j, (ox, oy) in enumerate(alone) if j not in used and j not in chain
                        and abs(oy - cy) <= 1 and step[0] <= ox - cx <= step[1]), None)  # fmt: skip
            if nxt is None:
                break
            chain.append(nxt)
        used.update(chain)
        if len(chain) == 3:
            xs = [alone[j][0] for j in chain]
            chains.append((round(float(np.mean(xs)), 1), round(float(alone[chain[1]][1]), 1)))
    return chains
