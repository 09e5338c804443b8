"""``python -m wiring_lab`` runs the CLI."""

from wiring_lab.cli import main

main()
