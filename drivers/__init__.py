"""Drivers for the point's devices: ID-card reader (PC/SC, FINEID), printer (CUPS), scanner (SANE)
and camera (OpenCV). Drivers never import the UI; they report what happens as events.
"""
