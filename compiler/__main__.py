"""``python -m eqlc`` runs the ``eqlc`` command line."""

from .cli import main

main()
