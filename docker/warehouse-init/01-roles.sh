#!/usr/bin/env bash
# First-start initialisation of the warehouse (postgres image, /docker-entrypoint-initdb.d).
# The SQL lives in roles.psql next to this file; this wrapper only checks that the passwords
# it reads from the environment are present, so a missing .env entry fails loudly here.
set -eo pipefail

: "${WAREHOUSE_ETL_PASSWORD:?is not set: copy .env.example to .env and fill it in}"
: "${WAREHOUSE_BI_READER_PASSWORD:?is not set: copy .env.example to .env and fill it in}"

psql --no-psqlrc -v ON_ERROR_STOP=1 \
    --username "${POSTGRES_USER:-postgres}" \
    --dbname "${POSTGRES_DB:-postgres}" \
    --file "$(dirname "${BASH_SOURCE[0]}")/roles.psql"
