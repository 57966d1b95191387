# Strongroom node image: `strongroom serve` as an unprivileged user, data under /data.
# Build: docker build -t strongroom .   Walkthrough: docs/deployment.md#container-image
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STRONGROOM_DATA_DIR=/data

# A fixed, unprivileged uid/gid, so a bind-mounted /data can be chowned to it on the host.
RUN groupadd --system --gid 10001 strongroom \
    && useradd --system --uid 10001 --gid strongroom --home-dir /data --shell /usr/sbin/nologin strongroom \
    && mkdir /data \
    && chown strongroom:strongroom /data

WORKDIR /opt/strongroom
COPY pyproject.toml README.md ./
COPY src ./src
# The scale extra (psycopg, redis, boto3) lets the same image run embedded or scaled out.
RUN pip install --no-cache-dir ".[scale]" \
    && rm -rf /opt/strongroom/src /opt/strongroom/build

USER 10001:10001
VOLUME ["/data"]
EXPOSE 8000

# Liveness only (the process answers); readiness (/_/health/ready) is for the load balancer.
# The Host header is the public one, so the probe passes the allowed-hosts check.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.parse as p, urllib.request as r; host = p.urlsplit(os.environ.get('STRONGROOM_BASE_URL') or 'http://localhost').netloc; r.urlopen(r.Request('http://127.0.0.1:8000/_/health/live', headers={'Host': host}), timeout=4)"]

# `serve` migrates (under an advisory lock on PostgreSQL) and repairs staged files first.
ENTRYPOINT ["strongroom"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
