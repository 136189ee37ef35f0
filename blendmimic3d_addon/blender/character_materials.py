"""Mixamo characters keep their looks: the textures an FBX refers to are found (embedded in the
file, in its ``<name>.fbm`` folder or a ``textures`` folder beside it) and packed into the .blend,
so a saved scene renders on another machine; a texture found nowhere is named in a warning and
its material falls back to a plain colour instead of Blender's pink "missing" one.
"""

import os

import bpy

FALLBACK = (0.5, 0.5, 0.5)  # linear grey, when the material has no colour of its own


def search_folders(fbx_path):
    """Where a texture an FBX names may lie, in order: beside the file, its .fbm folder (what FBX
    tools extract embedded media to) and a textures folder."""
    folder = os.path.dirname(os.path.abspath(fbx_path))
    stem = os.path.splitext(os.path.basename(fbx_path))[0]
    return [folder, os.path.join(folder, f"{stem}.fbm"), os.path.join(folder, "textures")]


def _find(image, fbx_path):
    """The texture file of ``image`` on disk, or None (the FBX may hold an absolute path from the
    artist's machine: only its file name is searched for)."""
    path = bpy.path.abspath(image.filepath)
    if os.path.isfile(path):
        return path
    name = bpy.path.basename(image.filepath.replace("\\", "/")) or image.name
    for folder in search_folders(fbx_path):
        candidate = os.path.join(folder, name)
        if os.path.isfile(candidate):
            return candidate
    return None


def settle(bodies, fbx_path):
    """Find and pack the textures of the bodies' materials; returns one warning per texture
    found nowhere (its material then shows a plain colour)."""
    warnings = []
    seen = set()
    for body in bodies:
        for slot in body.material_slots:
            material = slot.material
            if material is None or material.node_tree is None or material.name in seen:
                continue
            seen.add(material.name)
            for node in [n for n in material.node_tree.nodes if n.type == "TEX_IMAGE"]:
                if node.image is None or node.image.packed_file is not None:
                    continue  # nothing to find, or embedded (the importer packed it)
                path = _find(node.image, fbx_path)
                if path is None:
                    name = bpy.path.basename(node.image.filepath) or node.image.name
                    warnings.append(f"texture {name} of {material.name} not found: plain colour")
                    _plain(material, node)
                    continue
                node.image.filepath = path
                node.image.reload()
                node.image.pack()
    return warnings


def _plain(material, node):
    """Unplug a missing texture: what it fed takes the material's own colour."""
    tree = material.node_tree
    colour = tuple(material.diffuse_color)[:3]
    if max(abs(c - 0.8) for c in colour) < 1e-3:  # Blender's default grey: no colour of its own
        colour = FALLBACK
    for link in list(tree.links):
        if link.from_node == node:
            target = link.to_socket
            tree.links.remove(link)
            if target.type == "RGBA":
                target.default_value = (*colour, 1.0)
    image = node.image
    tree.nodes.remove(node)
    if image.users == 0:
        bpy.data.images.remove(image)
    material.diffuse_color = (*colour, 1.0)
