"""How each person looks: skin tone, top and bottom clothing colours and roughness, and a hue and
value shift for textured characters, drawn from a seed. People of one scene get different looks
(distinct clothing pairs) unless all are asked to share one."""

import dataclasses

import numpy as np

from .colour import srgb_to_linear

# Skin tones from light to deep (sRGB), spread over the range real people have.
SKIN_TONES = {
    "porcelain": (0.96, 0.84, 0.76),
    "light": (0.91, 0.74, 0.63),
    "beige": (0.84, 0.64, 0.5),
    "olive": (0.74, 0.55, 0.39),
    "tan": (0.63, 0.44, 0.3),
    "brown": (0.48, 0.32, 0.21),
    "dark": (0.34, 0.22, 0.15),
    "deep": (0.23, 0.15, 0.11),
}
# Everyday clothing colours (sRGB).
CLOTHES = {
    "black": (0.08, 0.08, 0.09),
    "charcoal": (0.25, 0.25, 0.27),
    "grey": (0.55, 0.55, 0.56),
    "white": (0.9, 0.9, 0.88),
    "navy": (0.12, 0.16, 0.32),
    "denim": (0.25, 0.36, 0.52),
    "sky": (0.53, 0.7, 0.86),
    "red": (0.7, 0.12, 0.12),
    "maroon": (0.4, 0.1, 0.14),
    "olive": (0.4, 0.42, 0.2),
    "forest": (0.13, 0.33, 0.2),
    "khaki": (0.74, 0.67, 0.5),
    "brown": (0.42, 0.28, 0.18),
    "mustard": (0.82, 0.63, 0.16),
    "pink": (0.88, 0.56, 0.64),
    "teal": (0.1, 0.47, 0.47),
}
SHOES = (0.06, 0.05, 0.05)  # sRGB: dark shoes for everyone
REGIONS = ("skin", "top", "bottom", "shoes")


@dataclasses.dataclass(frozen=True)
class Look:
    skin: str  # a SKIN_TONES name
    top: str  # a CLOTHES name
    bottom: str
    top_roughness: float
    bottom_roughness: float
    hue: float  # shift in turns, for textured characters
    value: float  # brightness factor, for textured characters

    def colours(self):
        """Linear RGB of each region (what the material's base colour takes)."""
        srgb = {"skin": SKIN_TONES[self.skin], "top": CLOTHES[self.top],
                "bottom": CLOTHES[self.bottom], "shoes": SHOES}  # fmt: skip
        return {region: tuple(float(v) for v in srgb_to_linear(c)) for region, c in srgb.items()}

    def roughness(self):
        return {"skin": 0.5, "top": self.top_roughness, "bottom": self.bottom_roughness,
                "shoes": 0.35}  # fmt: skip

    def summary(self):
        return f"skin {self.skin}, top {self.top}, bottom {self.bottom}"


def looks(count, seed, same=False):
    """``count`` looks from ``seed``; distinct (top, bottom) pairs unless ``same``."""
    rng = np.random.default_rng(seed)
    clothes = list(CLOTHES)
    pairs = [(t, b) for t in clothes for b in clothes if t != b]
    order = rng.permutation(len(pairs))
    found = []
    for n in range(1 if same else count):
        top, bottom = pairs[order[n % len(pairs)]]
        found.append(
            Look(
                skin=str(rng.choice(list(SKIN_TONES))),
                top=top,
                bottom=bottom,
                top_roughness=float(rng.uniform(0.45, 0.9)),
                bottom_roughness=float(rng.uniform(0.55, 0.95)),
                hue=float(rng.uniform(-0.06, 0.06)),
                value=float(rng.uniform(0.8, 1.2)),
            )
        )
    return found * count if same else found


def region_of_bone(name):
    """The body region a Mixamo bone's skin belongs to (``mixamorig:LeftForeArm`` -> top)."""
    bone = name.rpartition(":")[2]
    if any(key in bone for key in ("Head", "Neck", "Hand", "Eye")):
        return "skin"
    if any(key in bone for key in ("Foot", "Toe")):
        return "shoes"
    if bone == "Hips" or "Leg" in bone:
        return "bottom"
    return "top"
