"""Harness plugin: browser (not built yet)."""
