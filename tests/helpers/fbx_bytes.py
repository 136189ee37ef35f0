"""Tiny binary FBX files written byte by byte, for tests of files Blender's importer refuses.

Binary FBX 7.x (32-bit offsets): a 27-byte header (magic, version), then nodes. A node is its
end offset, property count, property bytes' length, name length, name, properties, then its
children closed by a 13-byte null record; the top level ends with one null record too.
"""

import struct

MAGIC = b"Kaydara FBX Binary  \x00\x1a\x00"
NULL_RECORD = b"\x00" * 13


def int32(value):
    return b"I" + struct.pack("<i", value)


def node(name, properties=(), children=()):
    """(name, [encoded property], [child node]) as a tree for ``fbx_file``."""
    return (name, list(properties), list(children))


def _encode(tree, offset):
    name, properties, children = tree
    props = b"".join(properties)
    head_size = 13 + len(name) + len(props)
    body = b""
    if children:
        for child in children:
            body += _encode(child, offset + head_size + len(body))
        body += NULL_RECORD
    end = offset + head_size + len(body)
    head = struct.pack("<3IB", end, len(properties), len(props), len(name)) + name + props
    return head + body


def fbx_file(path, *nodes, version=7400):
    data = MAGIC + struct.pack("<I", version)
    for tree in nodes:
        data += _encode(tree, len(data))
    data += NULL_RECORD + b"\x00" * 160  # the footer Blender's own writer adds, zeroed
    with open(path, "wb") as handle:
        handle.write(data)
    return path


def without_global_settings(path):
    """An FBX that parses, with a header and no GlobalSettings: Blender's importer fails with a
    Python exception of its own (an AttributeError) rather than a message."""
    header = node(b"FBXHeaderExtension", children=[node(b"FBXHeaderVersion", [int32(1003)])])
    return fbx_file(path, header, node(b"Objects"))
