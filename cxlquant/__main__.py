"""``python -m cxlquant``: the same as the ``cxlquant`` command."""

import sys

from .cli import main

sys.exit(main())
