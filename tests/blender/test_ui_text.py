"""Messages the sidebar wraps onto several lines (blender/ui.py ``wrap``) rather than let
Blender cut them short."""


def test_wrap_keeps_every_word_within_the_width(addon):
    from blendmimic3d_addon.blender.ui import wrap

    text = "this Blender build has no OpenImageDenoise: rendering without denoising"
    for width in (17, 20, 35, 200):  # the longest word has 17 characters
        lines = wrap(text, width, len)
        assert " ".join(lines) == text
        assert all(len(line) <= width for line in lines), (width, lines)
    assert len(wrap(text, 200, len)) == 1


def test_a_word_wider_than_the_line_keeps_a_line_of_its_own(addon):
    from blendmimic3d_addon.blender.ui import wrap

    assert wrap("a " + "x" * 30 + " b", 10, len) == ["a", "x" * 30, "b"]
    assert wrap("", 10, len) == []
