"""Harness plugin: pcsc (not built yet)."""
