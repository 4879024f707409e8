"""``python -m pipelines.commands``: the ``roi`` command (``roi run-all`` starts its children so)."""

import sys

from pipelines.commands import main

sys.exit(main())
