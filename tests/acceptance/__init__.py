"""Helpers of the end-to-end acceptance test: the kiosk wired in-process, the desk pages, screenshots."""
