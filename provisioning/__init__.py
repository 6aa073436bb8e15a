"""Provisioning: the agent that applies signed bundles from the organiser, and the organiser's ops tool.
Never imports the kiosk or the drivers; the point's configuration models and loader are the kernel's
(:mod:`etapiste.config.point`).
"""
