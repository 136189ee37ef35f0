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


def _header(data, path):
    if data[:4] != _MAGIC:
        raise DatasetError(path, None, "not an OpenEXR file")
    (flags,) = struct.unpack("<I", data[4:8])
    if flags & 0x1A00:  # tiled, deep or multi-part
        raise DatasetError(path, None, "only single-part scanline EXR files are read")
    pos, attributes = 8, {}
    while True:
        name, pos = _string(data, pos, path)
        if not name:
            return attributes, pos
        kind, pos = _string(data, pos, path)
        (size,) = struct.unpack("<i", data[pos : pos + 4])
        attributes[name] = (kind, data[pos + 4 : pos + 4 + size])
        pos += 4 + size


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
    attributes, pos = _header(data, path)
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
    out = {name: np.empty((height, width), dtype) for name, dtype in channels
           if wanted is None or name in wanted}  # fmt: skip
    for offset in offsets:
        offset = int(offset)
        y, size = struct.unpack("<ii", data[offset : offset + 8])
        row = y - y0
        if size != row_bytes or not 0 <= row < height or offset + 8 + size > len(data):
            raise DatasetError(path, "scanline", "row size or position does not match the header")
        start = offset + 8
        for name, dtype in channels:
            count = width * dtype.itemsize
            if name in out:
                out[name][row] = np.frombuffer(data, dtype, width, start)
            start += count
    missing = set(wanted or ()) - set(out)
    if missing:
        raise DatasetError(path, "channels", f"no channel {sorted(missing)[0]!r}")
    return out
