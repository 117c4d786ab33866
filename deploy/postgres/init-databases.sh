#!/usr/bin/env bash
# One PostgreSQL database per Heemang service, each owned by a login role of the same name,
# so a service can reach only its own data ("no service reads another's database").
#
# Mounted into /docker-entrypoint-initdb.d by docker-compose.yml: the postgres image runs it
# once, when the data directory is empty (to re-run it: `docker compose down -v`).
#   heemang_intake  heemang_casework  heemang_resources  heemang_hotline  heemang_gateway
# Each service's DATABASE_URL is postgresql+asyncpg://heemang_<svc>:<password>@postgres:5432/heemang_<svc>.
#
# Environment (set on the postgres container):
#   POSTGRES_USER         the superuser the image created (it runs these statements)
#   HEEMANG_DB_PASSWORD   the password of the five service roles (local stack only; a real
#                         deployment uses its own database server and a secret per service)
#
# No `set -u` and no `exit`: the image sources this file when it is not executable.
set -e

SERVICES="intake casework resources hotline gateway"

if [ -z "${HEEMANG_DB_PASSWORD:-}" ]; then
  echo "init-databases: HEEMANG_DB_PASSWORD is not set" >&2
  false
fi

for service in $SERVICES; do
  db="heemang_${service}"
  echo "init-databases: creating role and database ${db}"
  # The names are fixed identifiers above; the password goes through a psql variable (:'…'
  # quotes it as a literal), never through the shell.
  psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
    --set=service_password="${HEEMANG_DB_PASSWORD}" <<SQL
CREATE ROLE ${db} LOGIN PASSWORD :'service_password';
CREATE DATABASE ${db} OWNER ${db} ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE ${db} FROM PUBLIC;
GRANT ALL ON DATABASE ${db} TO ${db};
SQL
done
