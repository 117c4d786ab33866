# syntax=docker/dockerfile:1
#
# One image recipe for every Heemang service:
#
#   docker build --build-arg SERVICE=intake --build-arg SERVICE_PORT=8001 -t heemang-intake .
#
# SERVICE is one of gateway, intake, casework, resources, hotline; SERVICE_PORT is that
# service's Settings.default_port (gateway 8000, intake 8001, casework 8002, resources 8003,
# hotline 8004) and is checked against it during the build. docker-compose.yml passes both.
#
# The image runs `heemang-<svc> serve` by default; `heemang-<svc> migrate` (alembic upgrade
# head) and `heemang-<svc> replay --since <ISO datetime>` run from the same image.

ARG PYTHON_IMAGE=python:3.11-slim

# --------------------------------------------------------------------------- build stage
FROM ${PYTHON_IMAGE} AS build

ARG SERVICE
ARG UV_VERSION=0.13.9

RUN test -n "${SERVICE}" \
    || { echo "build with --build-arg SERVICE=<gateway|intake|casework|resources|hotline>" >&2; exit 1; }

RUN pip install --no-cache-dir --disable-pip-version-check --root-user-action=ignore "uv==${UV_VERSION}"

# uv uses the image's own Python 3.11 and never downloads one; the venv lives at /app/.venv,
# the same path in the final stage (its scripts and editable installs point at /app).
ENV UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=python3.11 \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_PROGRESS=1

WORKDIR /app

# Dependency layer: the lockfile and every workspace member's pyproject.toml (uv needs the
# whole workspace to read the lock), none of the source. Rebuilt only when these change.
COPY pyproject.toml uv.lock ./
COPY libs/common/pyproject.toml libs/common/pyproject.toml
COPY services/gateway/pyproject.toml services/gateway/pyproject.toml
COPY services/intake/pyproject.toml services/intake/pyproject.toml
COPY services/casework/pyproject.toml services/casework/pyproject.toml
COPY services/resources/pyproject.toml services/resources/pyproject.toml
COPY services/hotline/pyproject.toml services/hotline/pyproject.toml
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package "heemang-${SERVICE}"

# Source layer: libs/common and this one service (its src/, alembic.ini and migrations/).
COPY libs/common/ libs/common/
COPY services/${SERVICE}/ services/${SERVICE}/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --package "heemang-${SERVICE}"

# Fail the build, not the deployment, when SERVICE_PORT disagrees with the code.
ARG SERVICE_PORT
RUN test -n "${SERVICE_PORT}" \
    || { echo "build with --build-arg SERVICE_PORT=<the service's default port>" >&2; exit 1; }
RUN /app/.venv/bin/python -c "import sys; from heemang_${SERVICE}.settings import Settings; \
p = Settings.default_port; sys.exit(0 if p == int('${SERVICE_PORT}') else \
'SERVICE_PORT=${SERVICE_PORT} but heemang_${SERVICE} listens on %d' % p)"

# --------------------------------------------------------------------------- final stage
FROM ${PYTHON_IMAGE} AS runtime

ARG SERVICE
ARG SERVICE_PORT

LABEL org.opencontainers.image.title="heemang-${SERVICE}" \
      org.opencontainers.image.description="Heemang ${SERVICE} service"

# A fixed, numeric non-root user so Kubernetes can enforce runAsNonRoot.
RUN groupadd --system --gid 10001 heemang \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
               --home-dir /nonexistent --shell /usr/sbin/nologin heemang

# The venv and the source, read-only for the app user; var/ (embedded-mode state) writable.
COPY --from=build /app /app
RUN mkdir -p "/app/services/${SERVICE}/var" \
    && chown 10001:10001 "/app/services/${SERVICE}/var"

ENV PATH="/app/.venv/bin:${PATH}" \
    VIRTUAL_ENV=/app/.venv \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HEEMANG_SERVICE=${SERVICE}

# The service directory holds alembic.ini and migrations/: `migrate` runs from here.
WORKDIR /app/services/${SERVICE}

USER 10001:10001

EXPOSE ${SERVICE_PORT}

# Containers must listen on 0.0.0.0: set <SVC>_HOST=0.0.0.0 (compose and k8s do).
CMD ["/bin/sh", "-c", "exec \"heemang-${HEEMANG_SERVICE}\" serve"]
