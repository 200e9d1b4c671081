#!/bin/sh
# Runs once, when the db service's volume is first created: the owner role (migrations),
# the application's role (everything else; it owns nothing) and the database, owned by
# the owner. `manage.py migrate` then grants the application role its privileges.
# A volume made before there were two roles: see README, "With Docker".
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v owner_password="$CLINIC_CRM_OWNER_PASSWORD" \
    -v app_password="$CLINIC_CRM_APP_PASSWORD" <<'SQL'
CREATE ROLE clinic_crm_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
    PASSWORD :'owner_password';
CREATE ROLE clinic_crm_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT
    PASSWORD :'app_password';
CREATE DATABASE clinic_crm OWNER clinic_crm_owner;
SQL
