# Image for web (gunicorn), Celery worker and Celery beat; see docker-compose.yml.
FROM node:20-bookworm-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=clinic_crm.settings
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# The locked runtime packages (exact versions with hashes, `make lock`) in their own layer,
# then the project on top of them without dependencies.
COPY requirements/base.txt requirements/base.txt
RUN pip install --no-cache-dir --require-hashes -r requirements/base.txt
COPY . .
COPY --from=assets /app/node_modules ./node_modules
RUN pip install --no-cache-dir --no-deps -e . \
    && DEBUG=true python manage.py compilemessages --ignore='node_modules/*' -v0 \
    && DEBUG=false ALLOWED_HOSTS=build SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(64))')" \
       STATIC_ROOT=/app/staticfiles python manage.py collectstatic --no-input -v0 \
    && useradd --create-home --uid 1000 clinic && mkdir -p /app/var && chown clinic /app/var
ENV STATIC_ROOT=/app/staticfiles
USER clinic
EXPOSE 8000
CMD ["gunicorn", "clinic_crm.wsgi:application"]
