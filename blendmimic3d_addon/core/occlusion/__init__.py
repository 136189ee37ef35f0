"""Occlusion: rays against triangle soups, classifying crossings, label codes, QA overlays."""
