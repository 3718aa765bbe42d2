#!/usr/bin/env bash
# Start a real PostgreSQL server for the PostgreSQL tests and print its URL on stdout.
# As root: Debian's cluster (pg_ctlcluster), with a role and database for the tests.
# Otherwise: a private server in .pg-test/ on port 54329, owned by the current user.
set -euo pipefail

ROLE=workstation
PASSWORD=workstation
DB=workstation_test

if [[ $(id -u) -eq 0 ]]; then
    version=$(ls /usr/lib/postgresql | sort -V | tail -1)
    if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$version main"; then
        pg_createcluster "$version" main >&2
    fi
    if ! pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $4}' | grep -qx online; then
        pg_ctlcluster "$version" main start >&2
    fi
    port=$(pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $3}')
    as_postgres() { runuser -u postgres -- psql -p "$port" -v ON_ERROR_STOP=1 -qtA "$@"; }
    for _ in $(seq 1 30); do
        as_postgres -c 'select 1' >/dev/null 2>&1 && break
        sleep 0.5
    done
    if [[ -z $(as_postgres -c "select 1 from pg_roles where rolname = '$ROLE'") ]]; then
        as_postgres -c "create role $ROLE login createdb password '$PASSWORD'" >&2
    fi
    # The channel tests create a second, untrusted role to listen and forge with.
    as_postgres -c "alter role $ROLE createrole" >&2
    if [[ -z $(as_postgres -c "select 1 from pg_database where datname = '$DB'") ]]; then
        as_postgres -c "create database $DB owner $ROLE" >&2
    fi
    echo "postgresql+psycopg://$ROLE:$PASSWORD@127.0.0.1:$port/$DB"
else
    bin=/usr/lib/postgresql/$(ls /usr/lib/postgresql | sort -V | tail -1)/bin
    data=${PG_TEST_DIR:-$PWD/.pg-test}
    port=54329
    if [[ ! -f "$data/PG_VERSION" ]]; then
        "$bin/initdb" -D "$data" -U "$ROLE" --auth=trust >&2
    fi
    if ! "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w \
            -o "-p $port -k $data -c listen_addresses=127.0.0.1" start >&2
    fi
    if [[ -z $(psql -h 127.0.0.1 -p "$port" -U "$ROLE" -d postgres -qtA \
            -c "select 1 from pg_database where datname = '$DB'") ]]; then
        psql -h 127.0.0.1 -p "$port" -U "$ROLE" -d postgres -qc "create database $DB" >&2
    fi
    echo "postgresql+psycopg://$ROLE:$PASSWORD@127.0.0.1:$port/$DB"
fi
