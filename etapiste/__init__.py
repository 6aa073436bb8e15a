"""What the whole product shares: the one command host staff and ops learn (``etapiste <subcommand>``,
see :mod:`etapiste.cli`) and the wire protocol that kiosk and switchboard both import
(:mod:`etapiste.protocol`). Nothing else lives here.
"""

from importlib import metadata as _metadata

try:
    #: The product's version: pyproject.toml's, as installed (the Debian package's version is the same).
    __version__: str = _metadata.version("etapiste")
except _metadata.PackageNotFoundError:  # a bare checkout on sys.path, never installed
    __version__ = "0+unknown"
