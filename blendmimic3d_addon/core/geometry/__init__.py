"""Space and placement: camera model, presets and fitting, people layouts, the occluder library."""
