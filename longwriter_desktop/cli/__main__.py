"""`python -m longwriter_desktop.cli` runs the `longwriter` command."""

from __future__ import annotations

import sys

from . import main

sys.exit(main())
