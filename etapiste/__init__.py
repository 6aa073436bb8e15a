"""The kernel: what the whole product shares, imported by every part and importing none of them.

The wire protocol the kiosk and the switchboard both speak (:mod:`etapiste.protocol`), every error code
(:mod:`etapiste.codes`), every text (:mod:`etapiste.texts`), languages, hours, the model base and ids, the
point's configuration (:mod:`etapiste.config`), the Web eID token and its validator (:mod:`etapiste.webeid`),
hashing, the reconnect back-off (:mod:`etapiste.retry`), and the one command host staff and ops learn
(``etapiste <subcommand>``, :mod:`etapiste.cli`). docs/architecture.md draws the layers; the import-linter
contracts in pyproject.toml keep them.
"""

from importlib import metadata as _metadata

try:
    #: The product's version: pyproject.toml's, as installed (the Debian package's version is the same).
    __version__: str = _metadata.version("etapiste")
except _metadata.PackageNotFoundError:  # a bare checkout on sys.path, never installed
    __version__ = "0+unknown"
