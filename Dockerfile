# The gateway image: one image for the replicas (`serve --skip-load`) and the deploy step
# (`migrate`, `load_config`). Dependencies are installed here, at build time, never at start.

# --- build: a virtualenv with the pinned requirements -------------------------------------
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install -r /tmp/requirements.txt

# --- runtime: the virtualenv, the code, tini, a user without privileges --------------------
FROM python:3.11-slim-bookworm
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin vandamme
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY . /app
# Compressed, cache-busting static files for the admin and the dashboard (whitenoise).
RUN /opt/venv/bin/python manage.py collectstatic --noinput --verbosity 0 \
    && mkdir -p /var/lib/vandamme/usage-spool \
    && chown 10001 /var/lib/vandamme/usage-spool
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VANDAMME_ENVIRONMENT=production \
    HOST=0.0.0.0 \
    PORT=8082 \
    HOME=/tmp \
    VANDAMME_USAGE_SPOOL_DIR=/var/lib/vandamme/usage-spool
# Usage that could not be written at shutdown (database away) waits here for the next
# start: a volume per container, so it outlives a restart of that container. The spool
# claims files by process id, so replicas must never share one directory.
VOLUME ["/var/lib/vandamme/usage-spool"]
USER 10001
EXPOSE 8082
# Liveness only (no database access): readiness is the load balancer's /ready check.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8082'), timeout=2)"]
# tini is PID 1: it forwards SIGTERM to the server (serve execs it in place, same PID),
# which drains (VANDAMME_DRAIN_SECONDS), and reaps what exits.
ENTRYPOINT ["tini", "--", "python", "manage.py"]
CMD ["serve", "--skip-load", "--server", "uvicorn"]
