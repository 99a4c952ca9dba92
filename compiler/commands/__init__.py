"""One module per ``eqlc`` sub-command; each defines ``register(app)``."""
