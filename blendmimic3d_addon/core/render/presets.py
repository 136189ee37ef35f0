"""Render presets: what each one renders with, and its default sample count (numbers only; the
Blender side in ``blender/render_presets.py`` applies them)."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Preset:
    label: str
    engine: str  # WORKBENCH, EEVEE or CYCLES
    samples: int  # default samples per pixel (Workbench: anti-aliasing level)
    description: str
    denoise: bool = False
    # Cycles: stop sampling a pixel once its noise is below this (adaptive sampling).
    adaptive_threshold: float = 0.0
    max_bounces: int = 0  # Cycles light bounces (0: Blender's default)


# Realistic's default samples, from benchmarks/bench_render_presets.py (docs/RENDERING.md): with
# OpenImageDenoise, 8 samples are 10 dB closer to a 256-sample reference than without; 16 add
# 1.4 dB more, 32 another 1.3 dB at about twice the time. 16 is the default.
PRESETS = {
    "PREVIEW": Preset(
        "Preview", "WORKBENCH", 8, "Workbench solid shading: quick previews and QA checks"
    ),
    "FAST": Preset("Fast", "EEVEE", 16, "EEVEE: lit, shaded and shadowed, in seconds a frame"),
    "REALISTIC": Preset(
        "Realistic",
        "CYCLES",
        16,
        "Cycles path tracing with adaptive sampling and denoising: photo-like, the slowest",
        denoise=True,
        adaptive_threshold=0.05,
        max_bounces=6,
    ),
}


def samples_for(preset, samples):
    """The samples to render with: the user's (> 0) or the preset's default (0)."""
    return int(samples) if samples > 0 else PRESETS[preset].samples


# The engine a render used to be chosen by, and the preset that renders with it.
ENGINE_PRESETS = {"WORKBENCH": "PREVIEW", "EEVEE": "FAST", "CYCLES": "REALISTIC"}
