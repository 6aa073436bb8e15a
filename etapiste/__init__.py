"""What the whole product shares: the one command host staff and ops learn (``etapiste <subcommand>``,
see :mod:`etapiste.cli`) and the wire protocol that kiosk and switchboard both import
(:mod:`etapiste.protocol`). Nothing else lives here.
"""
