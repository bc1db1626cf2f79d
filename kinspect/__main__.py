"""`python -m kinspect`."""

from kinspect.cli import main

main()
