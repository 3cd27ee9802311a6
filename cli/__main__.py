"""``python -m cli``: the ``triage`` command."""

import sys

from cli.main import main

sys.exit(main())
