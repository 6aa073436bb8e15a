"""Harness plugin: cups (not built yet)."""
