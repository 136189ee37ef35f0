"""Checking a dataset folder against the format: every problem with its file and reason."""
