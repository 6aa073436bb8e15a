"""The one command host staff and ops learn: ``etapiste <subcommand>``.

The package holds only the dispatcher. Each subcommand lives in the package that owns the concept
(the kiosk, a driver, the provisioning agent, the switchboard) and is imported lazily, so that
``etapiste agent`` never imports Qt and ``etapiste card`` never imports the switchboard.
"""
