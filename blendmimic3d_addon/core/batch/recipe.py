"""Recipe files: a TOML description of many subjects, read and checked before anything is built.

Every mistake is a ``DatasetError`` naming the recipe, the key and its line, e.g.
``recipe.toml: cameras.height (line 31): must be a number >= 0, got -1``. The schema and its
meaning are in docs/RECIPES.md; ``Recipe`` holds the checked values, with paths made absolute
(relative paths are relative to the recipe's folder).
"""

import dataclasses
import os
import re
import tomllib

from ..errors import DatasetError
from ..geometry import layout as layout_core
from ..geometry import occluder_library
from ..render import environment_layout, lighting_plan
from ..render.presets import ENGINE_PRESETS

MAX_RECIPE_BYTES = 1 << 20
MAX_SUBJECTS = 100_000
MAX_PEOPLE = 12
MAX_FRAMES = 100_000
MANNEQUIN_ACTIONS = ("Walk", "Wave", "Sit", "PickUp")
SCENARIOS = ("CAPTURE_ROOM", "OBJECT_OCCLUSION", "OUT_OF_FRAME", "RETAIL_AISLE")
CAMERA_PRESETS = ("BLENDMIMIC3D", "HUMAN36M", "RING")
RENDER_ENGINES = tuple(ENGINE_PRESETS)  # what batch.py maps to a render preset
# "none": no environment (people and occluders on nothing, as before environments existed).
ENVIRONMENTS = ("none", *environment_layout.KINDS)
# "default": the environment's own lighting (ceiling lights indoors, daylight outdoors); no
# lights without an environment.
LIGHTINGS = ("default", *lighting_plan.PRESETS)
SUBJECT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_RANGE_SPEC = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*-\s*([A-Za-z0-9_-]+)\s*$")


@dataclasses.dataclass(frozen=True)
class Character:
    kind: str  # "mannequin" or "fbx"
    paths: tuple  # fbx: absolute paths of the character FBX files (skin and animation) drawn from
    actions: tuple  # mannequin: the actions it may play; fbx: () (its own animation)
    weight: float


@dataclasses.dataclass(frozen=True)
class Recipe:
    path: str
    seed: int
    fps: float | None
    frames: int
    subjects: tuple
    characters: tuple
    people: tuple  # (min, max)
    takes: tuple  # actions per subject (min, max)
    start_offset: tuple  # frames (min, max), for everyone but the primary person
    layouts: tuple
    spacing: tuple
    area: tuple
    min_distance: float
    scenarios: tuple
    occluders: tuple  # extra occluders around people (min, max)
    occluder_kinds: tuple
    camera_preset: str
    ring_count: int
    ring_radius: float
    fit: bool
    jitter: dict  # height (m), distance (m), heading (degrees), focal (fraction): each +/- value
    render: dict  # engine, scale, samples, videos, qa_videos
    environments: tuple  # each subject draws one (ENVIRONMENTS)
    lightings: tuple  # each subject draws one (LIGHTINGS)
    appearance: dict  # vary (seeded looks per subject), same_look (everyone dressed alike)


class _Reader:
    """Typed access to the parsed TOML, with the line of each key for the messages."""

    def __init__(self, path, text, data):
        self.path = path
        self.lines = _key_lines(text)
        self.data = data
        self.used = set()

    def fail(self, key, reason):
        line = self.line(key)
        field = f"{key} (line {line})" if line else key
        raise DatasetError(self.path, field, reason)

    def line(self, key):
        parts = key.split(".")
        while parts:
            if ".".join(parts) in self.lines:
                return self.lines[".".join(parts)]
            parts.pop()
        return None

    def get(self, key, default=dataclasses.MISSING):
        node = self.data
        for part in key.split("."):
            if isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            elif isinstance(node, dict) and part in node:
                node = node[part]
            else:
                if default is dataclasses.MISSING:
                    self.fail(key, "missing")
                return default
        self.used.add(key)
        return node

    def table(self, key):
        value = self.get(key, {})
        if not isinstance(value, dict):
            self.fail(key, f"must be a table ([{key}]), got {_kind(value)}")
        return value

    def integer(self, key, default=dataclasses.MISSING, low=None, high=None):
        value = self.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, f"must be a whole number, got {_kind(value)}")
        self._bounds(key, value, low, high)
        return value

    def number(self, key, default=dataclasses.MISSING, low=None, high=None):
        value = self.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(key, f"must be a number, got {_kind(value)}")
        self._bounds(key, value, low, high)
        return float(value)

    def boolean(self, key, default):
        value = self.get(key, default)
        if not isinstance(value, bool):
            self.fail(key, f"must be true or false, got {_kind(value)}")
        return value

    def choice(self, key, choices, default=dataclasses.MISSING):
        value = self.get(key, default)
        if value not in choices:
            self.fail(key, f"{value!r} is not one of {', '.join(map(str, choices))}")
        return value

    def choices(self, key, choices, default):
        """A non-empty list of distinct values of ``choices`` (one value is a list of one)."""
        value = self.get(key, default)
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not value:
            self.fail(key, f"must be a non-empty list of {', '.join(choices)}")
        for item in value:
            if item not in choices:
                self.fail(key, f"{item!r} is not one of {', '.join(choices)}")
        if len(set(value)) != len(value):
            self.fail(key, "lists a value twice")
        return tuple(value)

    def span(self, key, default, integer, low, high=None):
        """A number or [min, max] with low <= min <= max <= high: returns (min, max)."""
        value = self.get(key, default)
        pair = value if isinstance(value, list) else [value, value]
        what = "whole number" if integer else "number"
        ok = len(pair) == 2 and all(
            not isinstance(v, bool) and isinstance(v, int if integer else int | float) for v in pair
        )
        if not ok:
            self.fail(key, f"must be a {what} or [min, max], got {value!r}")
        if pair[0] > pair[1]:
            self.fail(key, f"[min, max] with min above max: {value!r}")
        for v in pair:
            self._bounds(key, v, low, high)
        return tuple(pair) if integer else tuple(float(v) for v in pair)

    def _bounds(self, key, value, low, high):
        if low is not None and value < low:
            self.fail(key, f"must be at least {low}, got {value}")
        if high is not None and value > high:
            self.fail(key, f"must be at most {high}, got {value}")


def _kind(value):
    return {bool: "true/false", int: "a whole number", float: "a number", str: "text",
            list: "a list", dict: "a table"}.get(type(value), type(value).__name__)  # fmt: skip


_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\s\"]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-.\s\"]+?)\s*=")


def _key_lines(text):
    """{dotted key: line number} for every table header and ``key =`` line; arrays of tables
    are numbered (``characters.0.kind``). Enough for messages: values spanning lines keep the
    line their key is on."""
    lines, counts, prefix = {}, {}, ""
    depth = 0  # inside a multi-line array or string: no keys there
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.split("#", 1)[0] if '"' not in line else line
        header = _HEADER.match(line) if depth == 0 else None
        if header:
            name = header.group(2).replace('"', "").replace(" ", "")
            if header.group(1) == "[[":
                counts[name] = counts.get(name, -1) + 1
                name = f"{name}.{counts[name]}"
            prefix = name + "."
            lines.setdefault(name, number)
            continue
        key = _KEY.match(line) if depth == 0 else None
        if key:
            name = key.group(1).replace('"', "").replace(" ", "")
            lines.setdefault(prefix + name, number)
        depth = max(0, depth + stripped.count("[") - stripped.count("]"))
    return lines


_TOP_KEYS = {"seed", "fps", "frames", "subjects", "characters", "people", "layout", "scene",
             "cameras", "render", "environment", "lighting", "appearance"}  # fmt: skip
_TABLE_KEYS = {
    "subjects": {"names", "prefix", "first", "count"},
    "people": {"count", "actions_per_subject", "start_offset"},
    "layout": {"presets", "spacing", "area", "min_distance"},
    "scene": {"scenarios", "occluders", "occluder_kinds"},
    "cameras": {"preset", "count", "radius", "fit", "height", "distance", "heading", "focal"},
    "render": {"engine", "scale", "samples", "videos", "qa_videos"},
    "appearance": {"vary", "same_look"},
}
_CHARACTER_KEYS = {"kind", "path", "actions", "weight"}


def read_recipe(path):
    """Read and check the recipe at ``path``; a DatasetError names the key and line of a mistake."""
    path = os.path.abspath(os.fspath(path))
    if not os.path.isfile(path):
        raise DatasetError(path, None, "no such recipe file")
    if os.path.getsize(path) > MAX_RECIPE_BYTES:
        raise DatasetError(path, None, f"larger than {MAX_RECIPE_BYTES} bytes: not a recipe")
    with open(path, "rb") as handle:
        raw = handle.read(MAX_RECIPE_BYTES + 1)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetError(
            path, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    return parse_recipe(text, path)


def parse_recipe(text, path="recipe.toml"):
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DatasetError(path, None, f"not valid TOML: {exc}") from None
    r = _Reader(path, text, data)
    for key in data:
        if key not in _TOP_KEYS:
            r.fail(key, f"unknown key; expected one of {', '.join(sorted(_TOP_KEYS))}")
    for table, known in _TABLE_KEYS.items():
        for key in r.table(table):
            if key not in known:
                r.fail(f"{table}.{key}", f"unknown key; expected one of {', '.join(sorted(known))}")
    folder = os.path.dirname(os.path.abspath(path))
    cameras = "cameras"
    jitter = {
        name: r.number(f"{cameras}.{name}", 0.0, low=0.0, high=high)
        for name, high in (("height", 10.0), ("distance", 20.0), ("heading", 180.0),
                           ("focal", 0.9))
    }  # fmt: skip
    fps = r.get("fps", None)
    return Recipe(
        path=path,
        seed=r.integer("seed", low=0, high=2**63 - 1),
        fps=None if fps is None else r.number("fps", low=1.0, high=1000.0),
        frames=r.integer("frames", 30, low=2, high=MAX_FRAMES),
        subjects=_subjects(r),
        characters=_characters(r, folder),
        people=r.span("people.count", 1, True, 1, MAX_PEOPLE),
        takes=r.span("people.actions_per_subject", 1, True, 1, len(MANNEQUIN_ACTIONS)),
        start_offset=r.span("people.start_offset", 0, True, 0, MAX_FRAMES),
        layouts=r.choices("layout.presets", layout_core.PRESETS, ["SIDE_BY_SIDE"]),
        spacing=r.span("layout.spacing", 1.2, False, 0.1, 50.0),
        area=_area(r),
        min_distance=r.number("layout.min_distance", 0.8, low=0.0, high=50.0),
        scenarios=r.choices("scene.scenarios", SCENARIOS, ["CAPTURE_ROOM"]),
        occluders=r.span("scene.occluders", 0, True, 0, 50),
        occluder_kinds=r.choices("scene.occluder_kinds", tuple(occluder_library.KINDS), ["box"]),
        camera_preset=r.choice(f"{cameras}.preset", CAMERA_PRESETS, "BLENDMIMIC3D"),
        ring_count=r.integer(f"{cameras}.count", 4, low=1, high=64),
        ring_radius=r.number(f"{cameras}.radius", 4.0, low=0.1, high=100.0),
        fit=r.boolean(f"{cameras}.fit", True),
        jitter=jitter,
        render={
            "engine": r.choice("render.engine", RENDER_ENGINES, "WORKBENCH"),
            "scale": r.integer("render.scale", 20, low=1, high=100),
            "samples": r.integer("render.samples", 8, low=1, high=4096),
            "videos": r.boolean("render.videos", True),
            "qa_videos": r.boolean("render.qa_videos", False),
        },
        environments=r.choices("environment", ENVIRONMENTS, ["none"]),
        lightings=r.choices("lighting", LIGHTINGS, ["default"]),
        appearance={
            "vary": r.boolean("appearance.vary", True),
            "same_look": r.boolean("appearance.same_look", False),
        },
    )


def _area(r):
    value = r.get("layout.area", [4.0, 4.0])
    ok = isinstance(value, list) and len(value) == 2
    ok = ok and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    if not ok or min(value) < 0.1:
        r.fail("layout.area", f"must be [width, depth] in metres, each at least 0.1, got {value!r}")
    return tuple(float(v) for v in value)


def _subjects(r):
    table = r.table("subjects")
    if "names" in table:
        if {"prefix", "first", "count"} & set(table):
            r.fail("subjects.names", "give either names or prefix/first/count, not both")
        names = r.get("subjects.names")
        if not isinstance(names, list) or not names:
            r.fail("subjects.names", "must be a non-empty list of names")
    else:
        prefix = r.get("subjects.prefix", "S")
        if not isinstance(prefix, str):
            r.fail("subjects.prefix", f"must be text, got {_kind(prefix)}")
        first = r.integer("subjects.first", 1, low=0, high=10**9)
        count = r.integer("subjects.count", low=1, high=MAX_SUBJECTS)
        names = [f"{prefix}{first + i}" for i in range(count)]
    if len(names) > MAX_SUBJECTS:
        r.fail("subjects", f"more than {MAX_SUBJECTS} subjects")
    for name in names:
        if not isinstance(name, str) or not SUBJECT_NAME.match(name):
            r.fail("subjects", f"{name!r}: a subject name is 1-64 letters, digits, _ or -")
    if len(set(names)) != len(names):
        r.fail("subjects", "a subject name appears twice")
    return tuple(names)


def _characters(r, folder):
    items = r.get("characters", None)
    if items is None:
        return (Character("mannequin", (), MANNEQUIN_ACTIONS, 1.0),)
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        r.fail("characters", "must be one or more [[characters]] tables")
    out = []
    for index, item in enumerate(items):
        key = f"characters.{index}"
        for name in item:
            if name not in _CHARACTER_KEYS:
                r.fail(f"{key}.{name}", f"unknown key; expected one of "
                       f"{', '.join(sorted(_CHARACTER_KEYS))}")  # fmt: skip
        kind = r.choice(f"{key}.kind", ("mannequin", "fbx"), "mannequin")
        weight = r.number(f"{key}.weight", 1.0, low=0.0, high=1e6)
        if kind == "mannequin":
            if "path" in item:
                r.fail(f"{key}.path", 'the mannequin is bundled: a path is for kind = "fbx"')
            actions = r.choices(f"{key}.actions", MANNEQUIN_ACTIONS, list(MANNEQUIN_ACTIONS))
            out.append(Character(kind, (), actions, weight))
            continue
        if "actions" in item:
            r.fail(f"{key}.actions", "an FBX character plays the animation in its own file")
        out.append(Character(kind, _fbx_paths(r, f"{key}.path", folder), (), weight))
    if sum(c.weight for c in out) <= 0:
        r.fail("characters", "every weight is 0: no character can be drawn")
    return tuple(out)


def _fbx_paths(r, key, folder):
    """A Mixamo FBX file, or a folder: every .fbx file in it (sorted), one drawn per person."""
    value = r.get(key)
    if not isinstance(value, str) or not value:
        r.fail(key, "must be the path of a Mixamo FBX file (a character with skin) or a folder")
    path = os.path.normpath(os.path.join(folder, value))
    if os.path.isdir(path):
        names = sorted(n for n in os.listdir(path) if n.lower().endswith(".fbx"))
        paths = [os.path.join(path, n) for n in names if os.path.isfile(os.path.join(path, n))]
        if not paths:
            r.fail(key, f"no .fbx file in the folder {path}")
        return tuple(paths)
    if not os.path.isfile(path):
        r.fail(key, f"no such file or folder: {path}")
    return (path,)


def select_subjects(recipe, spec):
    """The subjects named by ``spec``: empty for all; ``S10-S19`` (a range in recipe order), or a
    comma-separated list of names and ranges. Recipe order is kept."""
    names = list(recipe.subjects)
    if not spec:
        return names
    chosen = set()
    for part in str(spec).split(","):
        part = part.strip()
        if not part:
            continue
        match = _RANGE_SPEC.match(part)
        ends = [match.group(1), match.group(2)] if match and part not in names else [part, part]
        for end in ends:
            if end not in names:
                raise DatasetError(recipe.path, "--subjects", f"the recipe has no subject {end!r}")
        first, last = names.index(ends[0]), names.index(ends[1])
        if first > last:
            raise DatasetError(recipe.path, "--subjects", f"{part!r}: {ends[0]} comes after "
                               f"{ends[1]} in the recipe")  # fmt: skip
        chosen.update(names[first : last + 1])
    if not chosen:
        raise DatasetError(recipe.path, "--subjects", f"{spec!r} names no subject")
    return [n for n in names if n in chosen]


def shard_subjects(names, shard):
    """The subjects shard (K, N) does: every N-th from the K-th, so shards stay balanced."""
    if shard is None:
        return list(names)
    k, n = shard
    return list(names)[k - 1 :: n]
