"""Looks of the rendered images: render presets, the one-colour frame check, colours, appearance
palettes and environment extents (pure: numpy only)."""
