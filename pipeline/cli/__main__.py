"""``python -m pipeline.cli``, as the ``pipeline`` script (the fault tests run it so)."""

import sys

from pipeline.cli import main

if __name__ == "__main__":
    sys.exit(main())
