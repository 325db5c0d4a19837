# syntax=docker/dockerfile:1
# The app under gunicorn, following the official Python image's conventions: a pinned slim
# base, dependencies in their own layer, static files collected at build, a non-root user.
# Not built on the development machine (it has no Docker daemon); see docs/deploy.md.
ARG PYTHON_VERSION=3.11.13
FROM python:${PYTHON_VERSION}-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# A user with no home and no shell: the process cannot write to its own code.
ARG UID=10001
RUN adduser --disabled-password --gecos "" --home "/nonexistent" --shell "/sbin/nologin" \
    --no-create-home --uid "${UID}" appuser

# Pinned requirements (psycopg[binary] and brotli ship wheels: no compiler needed).
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY manage.py ./
COPY actemra_site ./actemra_site
COPY dosing ./dosing
COPY templates ./templates
COPY static ./static

# Hashed, compressed static files baked into the image; whitenoise serves them.
RUN DJANGO_DEBUG=0 DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput -v0

USER appuser
EXPOSE 8000
# Migrations run once per release (docs/deploy.md), not here: many containers start at once.
CMD ["gunicorn", "actemra_site.wsgi", "--bind=0.0.0.0:8000", "--workers=2", "--threads=4", \
     "--access-logfile=-"]
