# syntax=docker/dockerfile:1
# One image for every process of queue-service (style.md §1): the same image
# runs `migrate` (one-shot, first), `serve` (the API) and `worker`.
#   docker build -t queue-service .
#   docker run --rm -e DATABASE_URL=... queue-service migrate
#   docker run -e DATABASE_URL=... -e JWT_SECRET=... -p 3020:3020 queue-service serve
#   docker run -e DATABASE_URL=... queue-service worker

ARG PYTHON_IMAGE=python:3.11-slim

# -- build: the locked dependencies and the project, into /app/.venv --
FROM ${PYTHON_IMAGE} AS build

# The uv the Makefile pins; the same lock file, without the dev group. The
# image runs the API and workers: the provider SDKs and tracing, not the
# embedded PostgreSQL (`queue-service dev` only).
ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir --disable-pip-version-check "uv==${UV_VERSION}"

ENV UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_NO_CACHE=1
WORKDIR /src

# Dependencies first, so a code change does not reinstall them.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --extra providers --extra tracing --no-install-project --python /usr/local/bin/python3.11

# Then the project itself, as a wheel (sql/ is packaged as app/_sql), not editable:
# the runtime stage copies only the virtualenv.
COPY README.md LICENSE ./
COPY app ./app
COPY workers ./workers
COPY sql ./sql
RUN uv sync --frozen --no-dev --extra providers --extra tracing --no-editable --python /usr/local/bin/python3.11

# -- runtime: the virtualenv and a non-root user, nothing else --
FROM ${PYTHON_IMAGE} AS runtime

RUN groupadd --system --gid 10001 queue \
    && useradd --system --uid 10001 --gid queue --home-dir /home/queue --create-home queue \
    && install -d -o queue -g queue /var/lib/queue-service/reports

COPY --from=build /app/.venv /app/.venv

ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    QUEUE_ENV=prod \
    PORT=3020 \
    WORKER_METRICS_PORT=9464 \
    REPORT_DIR=/var/lib/queue-service/reports

USER 10001:10001
WORKDIR /home/queue
EXPOSE 3020 9464

ENTRYPOINT ["queue-service"]
CMD ["serve", "--host", "0.0.0.0"]
