"""What Blender said when one of its own operators failed, as one line for our messages.

``bpy.ops`` turns an operator's error into a RuntimeError whose text is the operator's report
("Error: Couldn't open file '/x.fbx' (...)"), or, where the operator's Python raised, a whole
traceback ending in the exception ("AttributeError: ...") and then the place in ``bpy/ops.py``
that called it ("Location: .../ops.py:109"). The reason is the report, or the exception's line;
never that location, which says nothing about the file.
"""

import re

_LOCATION = re.compile(r"^\s*location:", re.IGNORECASE)
_PREFIX = re.compile(r"^(Error|Python):\s*")


def operator_reason(exc, path=None):
    """One line saying why ``exc`` (raised by ``bpy.ops``) happened; ``path``, which our own
    message names already, is left out of it."""
    lines = [line.rstrip() for line in str(exc).splitlines() if line.strip()]
    lines = [line for line in lines if not _LOCATION.match(line)]
    # A traceback's own lines are indented ("  File ...", code, "^^^"); the exception and the
    # report lines are not.
    unindented = [
        line for line in lines if not line[:1].isspace() and not line.startswith("Traceback")
    ]
    reason = unindented[-1] if unindented else type(exc).__name__
    reason = _PREFIX.sub("", _PREFIX.sub("", reason))
    if path:
        reason = reason.replace(f" '{path}'", "").replace(f"'{path}'", "the file")
    return reason.strip() or type(exc).__name__
