# Herald: API (`herald api`), worker (`python -m worker`), migrations (`herald db upgrade`).
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY . .
# Editable, so that herald.migrate finds the Alembic scripts in /app/migrations
# (they are not a Python package and a plain `pip install .` leaves them out).
RUN pip install -e . \
 && useradd --create-home --uid 10001 herald \
 && mkdir -p /app/.herald /fakes \
 && chown herald /app/.herald /fakes

USER herald
EXPOSE 8000
ENTRYPOINT ["herald"]
CMD ["api"]
