"""``python -m etapiste`` is the same as the ``etapiste`` command."""

import sys

from etapiste.cli import main

sys.exit(main())
