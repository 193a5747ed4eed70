# NavTalk Portal images, multi-stage (see README "Production"):
#   target web     (default): web, Celery worker and beat. Django and friends only.
#   target engine:            the local engine's render worker, with the [engine] extra
#                             (mediapipe, OpenCV, numpy) and their system libraries.
# .dockerignore keeps .env, var/ (the SQLite database, secrets.env), media/, .git and
# .venv out of the build context, so no secret or person's file reaches an image.

FROM python:3.12-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VAR_DIR=/app/var \
    MEDIA_ROOT=/app/media \
    PATH=/venv/bin:$PATH
RUN useradd --create-home --uid 10001 app
WORKDIR /app

# --- dependencies, built once per pyproject change -----------------------------------
FROM base AS deps-web
RUN python -m venv /venv
COPY pyproject.toml ./
COPY navtalk_portal/ navtalk_portal/
COPY navtalk/ navtalk/
COPY lib/ lib/
COPY accounts/ accounts/
COPY keys/ keys/
COPY jobs/ jobs/
COPY front/ front/
COPY engine/ engine/
RUN pip install .

FROM deps-web AS deps-engine
RUN pip install '.[engine]' && pip install --no-deps mediapipe==0.10.21

# --- the engine's render worker --------------------------------------------------------
FROM base AS engine
# libgl/libglib: mediapipe's and OpenCV's runtime needs.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=deps-engine /venv /venv
COPY --chown=app:app . .
RUN mkdir -p /app/var /app/media && chown -R app:app /app/var /app/media
USER app
CMD ["celery", "-A", "navtalk_portal", "worker", "-Q", "engine", "-c", "1", "-n", "engine@%h", "--loglevel", "INFO"]

# --- web, worker, beat (the default target) --------------------------------------------
FROM base AS web
COPY --from=deps-web /venv /venv
COPY --chown=app:app . .
RUN SECRET_KEY=build-only LICENSE_ENCRYPTION_KEYS=ZmFrZS1idWlsZC1vbmx5LWtleS0wMDAwMDAwMDAwMDA= DEBUG=False \
    python manage.py collectstatic --noinput \
    && mkdir -p /app/var /app/media && chown -R app:app /app/var /app/media /app/staticfiles
USER app
EXPOSE 8000
ENV GUNICORN_BIND=0.0.0.0:8000
CMD ["gunicorn", "navtalk_portal.wsgi", "-c", "gunicorn.conf.py"]
