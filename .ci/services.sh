#!/usr/bin/env bash
# Start the local PostgreSQL and MariaDB servers the tests use, when installed but stopped,
# and wait until each accepts connections. Idempotent: running servers are left alone.
set -euo pipefail

WAIT_S=${WAIT_S:-30}

wait_for() { # name, command...
  local name=$1
  shift
  for _ in $(seq "$WAIT_S"); do
    if "$@" >/dev/null 2>&1; then
      echo "$name is accepting connections"
      return 0
    fi
    sleep 1
  done
  echo "error: $name did not accept connections within ${WAIT_S}s" >&2
  return 1
}

missing=()

if command -v pg_isready >/dev/null && [ -d /etc/postgresql ] && [ -n "$(ls /etc/postgresql)" ]; then
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    for version in $(ls /etc/postgresql); do
      pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    done
  fi
  wait_for PostgreSQL pg_isready -q -h 127.0.0.1 -p 5432
else
  missing+=("PostgreSQL (pg_ctlcluster, /etc/postgresql/<version>/main)")
fi

if [ -x /usr/sbin/mariadbd ] && command -v mysqladmin >/dev/null; then
  if ! mysqladmin ping --silent >/dev/null 2>&1; then
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  fi
  wait_for MariaDB mysqladmin ping --silent
else
  missing+=("MariaDB (/usr/sbin/mariadbd, mysqladmin)")
fi

# The TLS tests put nginx (Debian's build: ssl, http2, grpc_pass) in front of the Temporal dev
# server; each test runs its own unprivileged instance, so the system service stays stopped.
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx-light >/dev/null ||
      missing+=("nginx (apt-get install nginx-light failed)")
  else
    missing+=("nginx (apt-get install nginx-light)")
  fi
fi

if [ ${#missing[@]} -gt 0 ]; then
  for name in "${missing[@]}"; do
    echo "warning: $name is not installed; tests that need it fail under CI=true, else skip" >&2
  done
fi
