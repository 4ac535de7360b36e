"""``python -m labeldesk``: the command line."""

import sys

from labeldesk.app.cli import main

sys.exit(main())
