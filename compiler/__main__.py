"""``python -m compiler`` runs the ``eqlc`` command line."""

from .cli import main

main()
