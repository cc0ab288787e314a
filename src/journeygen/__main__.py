"""`python -m journeygen` runs the command line."""

from journeygen.cli import main

main()
