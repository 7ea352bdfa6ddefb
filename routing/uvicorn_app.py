"""The application as ``serve`` hands it to uvicorn: the gateway, without uvicorn's own
access line.

``serve`` runs uvicorn with ``access_log=False`` because the gateway writes its own access
line (with the request id). uvicorn honours that by leaving ``uvicorn.access`` without
handlers, but loading the application runs ``django.setup()``, whose ``LOGGING`` gives
that logger a handler again (so that a plain ``uvicorn vandamme.asgi:application`` logs
through the secret-redacting filter), and every request was logged twice. Imported in
each worker, after Django's logging is configured.
"""

import logging

from vandamme.asgi import application

access_logger = logging.getLogger("uvicorn.access")
access_logger.handlers.clear()
access_logger.propagate = False

__all__ = ["application"]
