"""`python -m stationary` runs the CLI."""

from stationary.cli import main

main()
