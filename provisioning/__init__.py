"""Provisioning: the point's configuration schema and loader, the agent that applies signed
bundles from the organiser, and the organiser's ops tool. Never imports the kiosk.
"""
