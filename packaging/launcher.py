"""The bundle's entry script: what `longwriter-desktop` (the GUI script) runs from an installed package."""

import sys

from longwriter_desktop.ui.app import main

if __name__ == "__main__":
    sys.exit(main())
