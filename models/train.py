"""`python -m models.train …`: the trainer's command line (models/training/cli.py), under the name every
shipped model's record gives for the command that made it."""

import sys

from models.training.cli import main

if __name__ == "__main__":
    sys.exit(main())
