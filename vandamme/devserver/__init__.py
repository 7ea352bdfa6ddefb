"""``manage.py runserver`` served by daphne (ASGI, so responses stream), without importing
daphne in every process.

daphne's own app (``"daphne"`` first in ``INSTALLED_APPS``, as its docs suggest) imports
Twisted, autobahn and pyOpenSSL at ``django.setup()``: about 16 MiB in every process,
the uvicorn-served gateway and each management command included. This app provides
the same ``runserver`` command and imports daphne only when that command runs.
"""
