"""Harness plugin: display (not built yet)."""
