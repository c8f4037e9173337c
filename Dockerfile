# One image for the web, worker and beat processes of revops (see docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so code changes do not reinstall them. psycopg[binary] and the other
# wheels need no compiler.
COPY pyproject.toml README.md ./
RUN mkdir -p revops territories quotas forecasting commissions rcm_feeds \
    && pip install . \
    && pip uninstall -y revops

COPY . .
RUN pip install --no-deps -e . \
    && python manage.py collectstatic --noinput -v 0 \
    && useradd --system --home-dir /app --shell /usr/sbin/nologin revops \
    && mkdir -p /app/var/media \
    && chown -R revops:revops /app/var

USER revops
EXPOSE 8000
CMD ["gunicorn", "revops.wsgi", "--bind", "0.0.0.0:8000", "--workers", "2", "--access-logfile", "-"]
