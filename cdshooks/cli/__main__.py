"""`python -m cdshooks.cli`: the `cdshooks` command."""

import sys

from cdshooks.cli.commands import main

sys.exit(main())
