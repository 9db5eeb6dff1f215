# One image for every Veilsync process; the command picks the role
# (python -m services.api | services.sync_worker | services.ml_worker).
# Build the GPU flavour with: docker build --build-arg EXTRAS=ml .
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    VEILSYNC_DATA_DIR=/var/lib/veilsync

WORKDIR /app

# Dependencies first, so code changes do not re-install them.
COPY pyproject.toml README.md ./
COPY sdk/python ./sdk/python
COPY services ./services
ARG EXTRAS=""
# The engine's C extensions (keyed hashing, PostgreSQL's COPY rows) are built here, while a
# compiler is at hand, into the environment where workers load them; the compiler goes again.
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && pip install ./sdk/python ".${EXTRAS:+[$EXTRAS]}" \
    && python -m services.engine.native \
    && apt-get purge -y gcc libc6-dev && apt-get autoremove -y && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/veilsync --create-home veilsync

USER veilsync
EXPOSE 50051
CMD ["python", "-m", "services.api"]
