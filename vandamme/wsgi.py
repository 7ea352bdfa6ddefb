"""WSGI entry point (management tooling only; serving is ASGI, see asgi.py)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vandamme.settings")
application = get_wsgi_application()
