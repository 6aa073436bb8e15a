"""Harness plugin: turn (not built yet)."""
