"""``python -m eqlc`` runs the ``eqlc`` command line (the same entry point as the ``eqlc`` command)."""

from .launch import main

main()
