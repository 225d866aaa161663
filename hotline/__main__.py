"""``python -m hotline`` is the ``hotline`` command."""

import sys

from hotline.command import main

sys.exit(main())
