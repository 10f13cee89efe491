# Shared settings for the local stack scripts. Source it; do not run it.
# Ports and credentials mirror `supabase start` so the same URLs work in both.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export PG_MAJOR=15
export PG_CLUSTER="${PG_CLUSTER:-assignment_local}"
export PG_PORT="${PG_PORT:-54322}"
export DB_URL="${DB_URL:-postgresql://postgres:postgres@127.0.0.1:${PG_PORT}/postgres}"
export FUNCTIONS_PORT="${FUNCTIONS_PORT:-54321}"
# What the Deno tests, benchmarks and tools read, so a second stack on other ports is one export away.
export SUPABASE_DB_URL="$DB_URL"
export FUNCTIONS_URL="http://127.0.0.1:${FUNCTIONS_PORT}/functions/v1"
export STACK_DIR="$ROOT/.stack"
export PATH="$ROOT/node_modules/.bin:$PATH"
export DENO_NO_UPDATE_CHECK=1
export SUPABASE_TELEMETRY_DISABLED=1
export DO_NOT_TRACK=1
export PGPASSWORD=postgres
export NO_COLOR=1

log() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# psql against the local database, failing on the first error.
db_psql() { psql "$DB_URL" -v ON_ERROR_STOP=1 -X -q "$@"; }

# Run a command as the postgres OS user (Debian clusters refuse to run as root).
as_postgres() {
  # Run from / so the postgres user is not left in a directory it cannot read.
  if [ "$(id -un)" = postgres ]; then (cd / && "$@"); else (cd / && runuser -u postgres -- "$@"); fi
}
