"""Render presets on a scene: Preview (Workbench), Fast (EEVEE), Realistic (Cycles with adaptive
sampling and OpenImageDenoise where the build has it). The numbers are in ``core.render.presets``.
"""

from ..core.render.presets import PRESETS, samples_for  # noqa: F401  (PRESETS: for callers)
from .compat import engine_identifier

ITEMS = tuple((key, p.label, p.description) for key, p in PRESETS.items())

# Workbench anti-aliasing steps; samples are rounded up to the next one.
_WORKBENCH_AA = ((1, "FXAA"), (5, "5"), (8, "8"), (11, "11"), (16, "16"), (32, "32"))

NO_DENOISER = "this Blender build has no OpenImageDenoise: rendering without denoising"


def has_denoiser():
    """Whether Cycles was built with OpenImageDenoise (the bpy wheel is; Debian's 4.3 is not)."""
    try:
        import _cycles
    except ImportError:
        return False
    return bool(getattr(_cycles, "with_openimagedenoise", False))


def notes(preset):
    """Messages to show once before rendering with ``preset`` (what it cannot do here)."""
    if PRESETS[preset].denoise and not has_denoiser():
        return [NO_DENOISER]
    return []


def is_lit(scene):
    """Whether anything in the scene gives light to the lit presets: a world, a light with some
    energy, or an emitting material on a rendered mesh. Without one, EEVEE and Cycles render
    black frames (Workbench brings its own studio light)."""
    if scene.world is not None:
        return True
    for obj in scene.objects:
        if obj.hide_render:
            continue
        if obj.type == "LIGHT" and obj.data.energy > 0:
            return True
        if obj.type == "MESH" and any(_emits(slot.material) for slot in obj.material_slots):
            return True
    return False


def _emits(material):
    if material is None or material.node_tree is None:
        return False
    for node in material.node_tree.nodes:
        if node.type == "EMISSION":
            return True
        strength = node.inputs.get("Emission Strength") if node.type == "BSDF_PRINCIPLED" else None
        if strength is not None and strength.default_value > 0:
            return True
    return False


UNLIT = "the scene has no light, no world and nothing that emits: add an environment or lighting"


def saved_settings(scene):
    """(owner, attribute) of every setting ``apply`` may change, for putting them back."""
    targets = [
        (scene.render, ("engine", "use_persistent_data")),
        (scene.display, ("render_aa",)),
        (scene.eevee, ("taa_render_samples",)),
    ]
    if hasattr(scene, "cycles"):
        cycles = ("samples", "device", "use_denoising", "denoiser", "use_adaptive_sampling",
                  "adaptive_threshold", "max_bounces")  # fmt: skip
        targets.append((scene.cycles, cycles))
    return [(o, a) for o, names in targets for a in names if hasattr(o, a)]


def apply(scene, preset, samples=0):
    """Set ``scene`` up to render with ``preset`` (``samples`` 0: the preset's default)."""
    spec = PRESETS[preset]
    count = samples_for(preset, samples)
    render = scene.render
    render.engine = engine_identifier(spec.engine)
    if spec.engine == "WORKBENCH":
        scene.display.render_aa = next((aa for n, aa in _WORKBENCH_AA if count <= n), "32")
    elif spec.engine == "EEVEE":
        scene.eevee.taa_render_samples = count
    else:
        cycles = scene.cycles
        cycles.samples = count
        cycles.device = "CPU"
        cycles.use_adaptive_sampling = spec.adaptive_threshold > 0
        if spec.adaptive_threshold > 0:
            cycles.adaptive_threshold = spec.adaptive_threshold
        if spec.max_bounces:
            cycles.max_bounces = spec.max_bounces
        cycles.use_denoising = spec.denoise and has_denoiser()
        if cycles.use_denoising:
            cycles.denoiser = "OPENIMAGEDENOISE"
        # Keep the scene's render data between the cameras of a frame: only the camera changes.
        render.use_persistent_data = True
