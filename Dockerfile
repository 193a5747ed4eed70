# NavTalk Portal: one image for web, worker, engine worker and beat.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VAR_DIR=/app/var \
    MEDIA_ROOT=/app/media

# libgl/libglib: mediapipe's and OpenCV's runtime needs in the engine worker.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 app

WORKDIR /app
COPY pyproject.toml ./
COPY navtalk_portal/ navtalk_portal/
COPY jobs/ jobs/
COPY engine/ engine/
RUN pip install '.[engine]' && pip install --no-deps mediapipe==0.10.21

COPY --chown=app:app . .
RUN SECRET_KEY=build-only LICENSE_ENCRYPTION_KEYS=ZmFrZS1idWlsZC1vbmx5LWtleS0wMDAwMDAwMDAwMDA= DEBUG=False \
    python manage.py collectstatic --noinput \
    && mkdir -p /app/var /app/media && chown -R app:app /app/var /app/media /app/staticfiles

USER app
EXPOSE 8000
ENV GUNICORN_BIND=0.0.0.0:8000
CMD ["gunicorn", "navtalk_portal.wsgi", "-c", "gunicorn.conf.py"]
