"""``python -m scanner`` runs the policyscan command line."""

import sys

from scanner.cli import main

sys.exit(main())
