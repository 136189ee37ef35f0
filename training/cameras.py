"""Virtual cameras: the world-space 3D of a take seen from other heights, distances, headings
and rolls than the four published cameras, so the refiner meets poses from unseen viewpoints.

A camera looks at the take's mean hip position (at ``TARGET_HEIGHT``) from ``distance`` metres
on the ground plane, at ``height`` metres, turned ``roll`` about its optical axis. World is z-up
metres, camera frames are OpenCV (x right, y down, z forward), as in the published files.
"""

import numpy as np

HEIGHTS = (0.5, 3.0)
DISTANCES = (2.0, 8.0)
MAX_ROLL_DEG = 6.0
TARGET_HEIGHT = 1.0
# Held out of training and reported on its own: a low camera far away, slightly rolled.
HELD_OUT = {"height": 0.6, "distance": 7.0, "heading_deg": 200.0, "roll_deg": 4.0}


def in_held_out_region(height, distance):
    """Training never samples near the held-out geometry (low and far at once)."""
    return height < 0.9 and distance > 5.5


def look_at(centre, target, roll=0.0):
    """RT (3,4) world -> camera for a camera at ``centre`` looking at ``target``."""
    centre, target = np.asarray(centre, float), np.asarray(target, float)
    forward = target - centre
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    c, s = np.cos(roll), np.sin(roll)
    right, down = c * right + s * down, -s * right + c * down
    rotation = np.stack([right, down, forward])
    return np.concatenate([rotation, (-rotation @ centre)[:, None]], axis=1)


def camera_for(world, height, distance, heading, roll):
    """RT of a camera around the take ``world`` (N,17,3): angles in radians."""
    hips = world[:, 0, :2].mean(0)
    centre = [*(hips + distance * np.array([np.cos(heading), np.sin(heading)])), height]
    return look_at(centre, [*hips, TARGET_HEIGHT], roll)


def sample(rng):
    """(height, distance, heading, roll) drawn from the training range."""
    while True:
        height, distance = rng.uniform(*HEIGHTS), rng.uniform(*DISTANCES)
        if not in_held_out_region(height, distance):
            break
    heading = rng.uniform(0, 2 * np.pi)
    return height, distance, heading, np.radians(rng.uniform(-MAX_ROLL_DEG, MAX_ROLL_DEG))


def held_out():
    g = HELD_OUT
    return g["height"], g["distance"], np.radians(g["heading_deg"]), np.radians(g["roll_deg"])


def nearest_published(RT_virtual, RT_published, world):
    """Index of the published camera whose heading around the take is closest: its occlusion
    labels stand in for the virtual camera's (the dataset has labels only for its own)."""
    from blendmimic3d_addon.core.geometry.camera import camera_centre

    hips = world[:, 0, :2].mean(0)

    def heading(rt):
        d = camera_centre(rt)[:2] - hips
        return np.arctan2(d[1], d[0])

    mine = heading(RT_virtual)
    gaps = [abs(np.angle(np.exp(1j * (heading(rt) - mine)))) for rt in RT_published]
    return int(np.argmin(gaps))
