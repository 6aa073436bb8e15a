"""Harness plugin: mqtt (not built yet)."""
