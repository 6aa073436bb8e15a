"""Harness plugin: sane (not built yet)."""
