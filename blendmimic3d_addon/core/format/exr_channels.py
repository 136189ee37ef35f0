"""The channels of an uncompressed scanline OpenEXR file, in numpy.

Blender saves a render's passes (depth, object index) in one multilayer EXR; with compression
"None" that file is a header, an offset table and rows of raw samples, which is all this reads.
Compressed, tiled, deep and multi-part files are refused with a message saying so.
"""

import struct

import numpy as np

from ..errors import DatasetError

_MAGIC = b"\x76\x2f\x31\x01"
_TYPES = {0: np.dtype("<u4"), 1: np.dtype("<f2"), 2: np.dtype("<f4")}
MAX_PIXELS = 1 << 28


def read_channels(path, wanted=None):
    """{channel name: (H,W) array} of the channels in ``wanted`` (all when None)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise DatasetError(path, None, f"cannot read: {exc.strerror or exc}") from None
    return decode(data, path, wanted)


def _string(data, pos, path):
    end = data.find(b"\0", pos)
    if end < 0:
        raise DatasetError(path, "header", "truncated")
    return data[pos:end].decode("latin-1"), end + 1


def _headers(data, path):
    """The part headers ({name: (type, bytes)}) and where the offset tables start. A single-part
    file has one header; a multi-part one (Blender 5's multilayer files: a part per pass) a
    header per part, ended by an empty one."""
    if data[:4] != _MAGIC:
        raise DatasetError(path, None, "not an OpenEXR file")
    (flags,) = struct.unpack("<I", data[4:8])
    if flags & 0xA00:  # tiled or deep
        raise DatasetError(path, None, "only scanline EXR files are read (not tiled or deep)")
    multipart = bool(flags & 0x1000)
    pos, headers = 8, []
    while True:
        attributes = {}
        while True:
            name, pos = _string(data, pos, path)
            if not name:
                break
            kind, pos = _string(data, pos, path)
            (size,) = struct.unpack("<i", data[pos : pos + 4])
            attributes[name] = (kind, data[pos + 4 : pos + 4 + size])
            pos += 4 + size
        headers.append(attributes)
        if not multipart or data[pos : pos + 1] == b"\0":
            return headers, pos + (1 if multipart else 0), multipart


def _channel_list(value, path):
    channels, pos = [], 0
    while pos < len(value) and value[pos] != 0:
        name, pos = _string(value, pos, path)
        pixel_type, _, xs, ys = struct.unpack("<iB3xii", value[pos : pos + 16])
        if pixel_type not in _TYPES or (xs, ys) != (1, 1):
            raise DatasetError(path, name, "unsupported channel type or sampling")
        channels.append((name, _TYPES[pixel_type]))
        pos += 16
    return channels


def decode(data, path="<exr>", wanted=None):
    headers, pos, multipart = _headers(data, path)
    out = {}
    for part, attributes in enumerate(headers):
        pos = _decode_part(data, path, attributes, pos, part if multipart else None, wanted, out)
    missing = set(wanted or ()) - set(out)
    if missing:
        raise DatasetError(path, "channels", f"no channel {sorted(missing)[0]!r}")
    return out


def _decode_part(data, path, attributes, pos, part, wanted, out):
    """Read one part's channels into ``out``; returns where the next offset table starts."""
    for key in ("channels", "compression", "dataWindow"):
        if key not in attributes:
            raise DatasetError(path, key, "missing from the header")
    if attributes["compression"][1][:1] != b"\0":
        raise DatasetError(path, "compression", "compressed EXR; save it with codec None")
    channels = _channel_list(attributes["channels"][1], path)
    x0, y0, x1, y1 = struct.unpack("<iiii", attributes["dataWindow"][1])
    width, height = x1 - x0 + 1, y1 - y0 + 1
    if not 0 < width * height <= MAX_PIXELS:
        raise DatasetError(path, "dataWindow", f"image size {width}x{height} out of range")
    row_bytes = sum(width * dtype.itemsize for _, dtype in channels)
    offsets = np.frombuffer(data, dtype="<u8", count=height, offset=pos)
    mine = {name: np.empty((height, width), dtype) for name, dtype in channels
            if wanted is None or name in wanted}  # fmt: skip
    head = 8 if part is None else 12  # a multi-part chunk starts with its part number
    for offset in offsets:
        offset = int(offset)
        fields = struct.unpack("<" + "i" * (head // 4), data[offset : offset + head])
        y, size = fields[-2:]
        row = y - y0
        if size != row_bytes or not 0 <= row < height or offset + head + size > len(data):
            raise DatasetError(path, "scanline", "row size or position does not match the header")
        start = offset + head
        for name, dtype in channels:
            if name in mine:
                mine[name][row] = np.frombuffer(data, dtype, width, start)
            start += width * dtype.itemsize
    out.update(mine)
    return pos + 8 * height


def _attribute(name, kind, value):
    return name.encode() + b"\0" + kind.encode() + b"\0" + struct.pack("<i", len(value)) + value


def encode_single(name, image):
    """Bytes of an uncompressed scanline EXR holding one float32 channel ``name`` (H,W)."""
    image = np.asarray(image, dtype="<f4")
    if image.ndim != 2 or 0 in image.shape:
        raise ValueError(f"expected a non-empty (H,W) image, got shape {image.shape}")
    height, width = image.shape
    channels = name.encode() + b"\0" + struct.pack("<iB3xii", 2, 0, 1, 1) + b"\0"
    window = struct.pack("<iiii", 0, 0, width - 1, height - 1)
    header = b"".join((
        _MAGIC, struct.pack("<I", 2),
        _attribute("channels", "chlist", channels),
        _attribute("compression", "compression", b"\0"),
        _attribute("dataWindow", "box2i", window),
        _attribute("displayWindow", "box2i", window),
        _attribute("lineOrder", "lineOrder", b"\0"),
        _attribute("pixelAspectRatio", "float", struct.pack("<f", 1.0)),
        _attribute("screenWindowCenter", "v2f", struct.pack("<ff", 0.0, 0.0)),
        _attribute("screenWindowWidth", "float", struct.pack("<f", 1.0)),
        b"\0",
    ))  # fmt: skip
    row_bytes = 4 * width
    first = len(header) + 8 * height
    offsets = first + np.arange(height, dtype="<u8") * (8 + row_bytes)
    rows = [struct.pack("<ii", y, row_bytes) + image[y].tobytes() for y in range(height)]
    return header + offsets.tobytes() + b"".join(rows)


def write_single(path, name, image):
    """Write one float32 channel as an uncompressed EXR, atomically."""
    from .atomic import atomic_file

    data = encode_single(name, image)
    with atomic_file(path) as handle:
        handle.write(data)
