"""Configuration shared by the parts: the YAML loader that reports every problem with its line
(:mod:`etapiste.config.loader`) and the point's configuration models (:mod:`etapiste.config.point`).

The point's configuration is read by the kiosk, the drivers' settings come from it, the provisioning agent
applies it and the ops tool builds it, so it lives in the kernel rather than in any one of them. The
switchboard's own configuration stays in :mod:`switchboard.config` but is read by the same loader.
"""
