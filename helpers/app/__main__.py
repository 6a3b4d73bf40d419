"""`python -m helpers.app PHOTO...`: the command line of `helpers.app.cli`."""
import sys

from helpers.app.cli import run_cli

if __name__ == "__main__":
    sys.exit(run_cli())
