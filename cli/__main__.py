"""``python -m cli ARGS``: the ``texture`` command."""

import sys

from cli.main import main

sys.exit(main())
