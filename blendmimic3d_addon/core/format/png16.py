"""16-bit greyscale PNG, written and read in numpy: the instance masks and depth images.

The writer uses filter 0 (none) on every row, so reading what it wrote is one ``zlib`` call and
a reshape. The reader also takes the other four filters (images saved by other tools): Sub and
Up are undone a row at a time in numpy, Average and Paeth a pixel at a time (slow on large
images, but correct).
"""

import struct
import zlib

import numpy as np

from ..errors import DatasetError
from .atomic import atomic_file

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Refuse images larger than this many pixels before inflating them (a corrupt or hostile header).
MAX_PIXELS = 1 << 28


def _chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def encode(image):
    """PNG bytes of a (H,W) uint16 image (greyscale, 16 bits)."""
    image = np.asarray(image)
    if image.ndim != 2 or image.dtype != np.uint16 or 0 in image.shape:
        raise ValueError(
            f"expected a non-empty (H,W) uint16 image, got {image.dtype} {image.shape}"
        )
    height, width = image.shape
    rows = np.zeros((height, 1 + 2 * width), dtype=np.uint8)
    rows[:, 1:] = image.astype(">u2").view(np.uint8).reshape(height, 2 * width)
    header = struct.pack(">IIBBBBB", width, height, 16, 0, 0, 0, 0)
    return b"".join(
        (
            _SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)),
            _chunk(b"IEND", b""),
        )
    )


def write(path, image):
    """Write a (H,W) uint16 image as a 16-bit greyscale PNG, atomically."""
    data = encode(image)
    with atomic_file(path) as handle:
        handle.write(data)


def read(path):
    """The (H,W) uint16 image of a 16-bit greyscale PNG; DatasetError on anything else."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise DatasetError(path, None, f"cannot read: {exc.strerror or exc}") from None
    return decode(data, path)


def image_size(path):
    """(width, height) of any PNG file, from its header (the frames, whatever their colours)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(24)
    except OSError as exc:
        raise DatasetError(path, None, f"cannot read: {exc.strerror or exc}") from None
    if not head.startswith(_SIGNATURE) or head[12:16] != b"IHDR":
        raise DatasetError(path, None, "not a PNG file")
    return struct.unpack(">II", head[16:24])


def decode(data, path="<png>"):
    if not data.startswith(_SIGNATURE):
        raise DatasetError(path, None, "not a PNG file")
    pos, header, idat = len(_SIGNATURE), None, []
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if len(body) != length:
            raise DatasetError(path, kind.decode("latin-1"), "truncated chunk")
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    if header is None or not idat:
        raise DatasetError(path, "IHDR", "no image header or data")
    width, height, depth, colour, _, _, interlace = header
    if (depth, colour, interlace) != (16, 0, 0):
        raise DatasetError(
            path, "IHDR", f"expected 16-bit greyscale, not interlaced (got depth {depth}, "
            f"colour type {colour}, interlace {interlace})",
        )  # fmt: skip
    if not 0 < width * height <= MAX_PIXELS:
        raise DatasetError(path, "IHDR", f"image size {width}x{height} out of range")
    stride = 2 * width
    decompressor = zlib.decompressobj()
    raw = decompressor.decompress(b"".join(idat), height * (stride + 1) + 1)
    if len(raw) != height * (stride + 1):
        raise DatasetError(path, "IDAT", "image data does not match the header's size")
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(height, stride + 1)
    pixels = _unfilter(rows[:, 0], rows[:, 1:].copy(), 2, path)
    return pixels.view(">u2").reshape(height, width).astype(np.uint16)


def _unfilter(filters, rows, bpp, path):
    if (filters > 4).any():
        raise DatasetError(path, "IDAT", "unknown row filter")
    previous = np.zeros(rows.shape[1], dtype=np.uint8)
    for y, kind in enumerate(filters):
        row = rows[y]
        if kind == 1:  # Sub: a running sum per byte of the pixel
            for k in range(bpp):
                row[k::bpp] = np.cumsum(row[k::bpp], dtype=np.uint64).astype(np.uint8)
        elif kind == 2:  # Up
            row += previous
        elif kind in (3, 4):
            _unfilter_row_slowly(row, previous, bpp, kind)
        previous = row
    return rows


def _unfilter_row_slowly(row, previous, bpp, kind):
    line = row.astype(np.int64)
    up = previous.astype(np.int64)
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        if kind == 3:
            line[i] = (line[i] + (left + up[i]) // 2) & 0xFF
        else:
            corner = up[i - bpp] if i >= bpp else 0
            p = left + up[i] - corner
            pa, pb, pc = abs(p - left), abs(p - up[i]), abs(p - corner)
            guess = left if pa <= pb and pa <= pc else (up[i] if pb <= pc else corner)
            line[i] = (line[i] + guess) & 0xFF
    row[:] = line.astype(np.uint8)
