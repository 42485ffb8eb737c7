"""``python -m infra.local``: start the local stack (what ``make run`` does)."""

import sys

from infra.local.stack import main

if __name__ == "__main__":
    sys.exit(main())
