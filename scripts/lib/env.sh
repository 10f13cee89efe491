# Shared settings for the local stack scripts. Source it; do not run it.
# Ports and credentials mirror `supabase start` so the same URLs work in both.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
export PG_MAJOR=15
# PG_PORT picks the stack; everything else follows from it, so a second stack is one export away
# (`PG_PORT=58322 scripts/test`): its cluster, functions port (PG_PORT - 1, as 54322/54321) and state
# directory. PG_CLUSTER and FUNCTIONS_PORT may still be set explicitly. DB_URL is always the local cluster
# on PG_PORT, never inherited: these scripts create, reset and migrate that cluster, and an inherited
# DB_URL once sent one stack's migrations to another's database. Remote tools take --db-url instead.
export PG_PORT="${PG_PORT:-54322}"
if [ "$PG_PORT" = 54322 ]; then default_cluster=assignment_local; else default_cluster="assignment_local_$PG_PORT"; fi
export PG_CLUSTER="${PG_CLUSTER:-$default_cluster}"
export FUNCTIONS_PORT="${FUNCTIONS_PORT:-$((PG_PORT - 1))}"
# SUPABASE_DB_URL is what a deployed function reads, so a shell may well hold a hosted project's: said aloud.
for inherited in DB_URL SUPABASE_DB_URL; do
  if [ -n "${!inherited:-}" ] && [ "${!inherited}" != "postgresql://postgres:postgres@127.0.0.1:${PG_PORT}/postgres" ]; then
    printf 'note: ignoring the inherited %s; using the local cluster on port %s (set PG_PORT; remote tools take --db-url)\n' \
      "$inherited" "$PG_PORT" >&2
  fi
done
export DB_URL="postgresql://postgres:postgres@127.0.0.1:${PG_PORT}/postgres"
# What the Deno tests, benchmarks and tools read.
export SUPABASE_DB_URL="$DB_URL"
export FUNCTIONS_URL="http://127.0.0.1:${FUNCTIONS_PORT}/functions/v1"
if [ "$PG_PORT" = 54322 ]; then export STACK_DIR="$ROOT/.stack"; else export STACK_DIR="$ROOT/.stack/$PG_PORT"; fi
# Who owns the stack is the machine's to know, not the checkout's: every checkout's stack on a port is the same
# cluster (its files are the machine's), so a clone's test run and the main checkout's demo must not share it.
# Keyed by port, as the stack is (a cluster named by hand still listens there).
export STACK_CLAIM_DIR="/tmp/assignment-stack-claims/$PG_PORT"
export PATH="$ROOT/node_modules/.bin:$PATH"
export DENO_NO_UPDATE_CHECK=1
export SUPABASE_TELEMETRY_DISABLED=1
# The CLI otherwise asks GitHub for its latest release on every command (and writes the answer to a tracked file).
export SUPABASE_NO_UPDATE_NOTIFIER=1
export DO_NOT_TRACK=1
export PGPASSWORD=postgres
export NO_COLOR=1
# One locale every machine has: pg_createcluster refuses to run under a locale the machine lacks (an SSH
# session passes the client's LANG), pg_prove warns about it, and sort orders the test files by it.
export LC_ALL=C.UTF-8

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
# --help or -h, anywhere among the arguments, prints the calling script's header comment (its usage) and exits,
# before the script installs, resets or starts anything (`scripts/db reset --help` must not reset).
SCRIPT="$(cd "$(dirname "$0")" && pwd -P)/$(basename "$0")" # before the script changes directory
usage_if_asked() {
  local arg
  for arg in "$@"; do
    case "$arg" in -h | --help) sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$SCRIPT"; exit 0 ;; esac
  done
}

# One run owns a stack at a time. scripts/demo, scripts/test, the benchmarks, the upgrade and hosted-roles tests
# and scripts/db reset/drop drop a database and stop and start processes, so one started beside another would
# pull the other's database from under it (and the first to end would stop the other's functions), whichever
# checkout each runs in. The owner is the claiming script's process in $STACK_CLAIM_DIR/owner (pid, start time
# and boot, so a pid reused after the run or a reboot is not mistaken for it); a claim whose run has ended is
# taken over, and the scripts a run calls share its claim (STACK_OWNER, the checkout's state directory). $1 is
# the command as typed, for the refusal. PG_PORT picks another stack.
process_identity() { # pid: "pid start-time boot-id", or nothing once the process is gone
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  stat=${stat##*) } # the fields after the command name, which may hold spaces; the start time is the 20th
  printf '%s %s %s' "$1" "$(cut -d' ' -f20 <<<"$stat")" "$(cat /proc/sys/kernel/random/boot_id)"
}
claim_stack() {
  [ "${STACK_OWNER:-}" = "$STACK_DIR" ] && return 0
  mkdir -p "$STACK_DIR"
  # A folder of the machine's that only its creator may write to: a claim never follows another user's link.
  mkdir -p -m 0700 "$(dirname "$STACK_CLAIM_DIR")" && mkdir -p -m 0700 "$STACK_CLAIM_DIR" \
    || die "$1: could not make $STACK_CLAIM_DIR for the stack's claim"
  [ -O "$(dirname "$STACK_CLAIM_DIR")" ] && [ -O "$STACK_CLAIM_DIR" ] \
    || die "$1: $STACK_CLAIM_DIR belongs to another user; remove it (or run as the user who made it)"
  local fd owner pid
  exec {fd}>>"$STACK_CLAIM_DIR/owner.lock"
  flock "$fd" # two claims at the same moment take turns reading and writing the owner
  owner=$(cat "$STACK_CLAIM_DIR/owner" 2>/dev/null || true)
  pid=${owner%% *}
  if [ -n "$owner" ] && [ "$pid" != "$$" ] && [ "$(process_identity "$pid")" = "$owner" ]; then
    exec {fd}>&-
    die "$1: another run is using the stack on port $PG_PORT ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | sed 's/ $//'), pid $pid, in $(readlink "/proc/$pid/cwd" 2>/dev/null || echo 'a directory it will not say')); wait for it to end, or run this one beside it on another port: PG_PORT=$((PG_PORT + 1000)) $1"
  fi
  process_identity "$$" >"$STACK_CLAIM_DIR/owner"
  exec {fd}>&-
  export STACK_OWNER="$STACK_DIR"
}

# psql against the local database, failing on the first error.
# No pager: a table taller than the terminal would wait for a key in the middle of a script.
db_psql() { psql "$DB_URL" -v ON_ERROR_STOP=1 -X -q -P pager=off "$@"; }

# Run a command as the postgres OS user (Debian clusters refuse to run as root).
as_postgres() {
  # Run from / so the postgres user is not left in a directory it cannot read.
  if [ "$(id -un)" = postgres ]; then (cd / && "$@"); else (cd / && runuser -u postgres -- "$@"); fi
}

# The first port from $1 up that can be bound now ($2 says what it is for, in the error). Ports in the kernel's
# range for the local end of outgoing connections (32768-60999) may be held by a client socket after a suite's
# thousands of connections, and Postgres would fail to start on one.
free_port() {
  local port=$1 status
  for _ in $(seq 50); do
    status=0
    deno eval "try { Deno.listen({ hostname: '127.0.0.1', port: $port }).close() }
               catch (e) { if (e instanceof Deno.errors.AddrInUse) Deno.exit(3); throw e }" >&2 || status=$?
    [ "$status" = 0 ] && { echo "$port"; return; }
    [ "$status" = 3 ] || die "could not look for a free port (deno eval exited with $status)"
    port=$((port + 1))
  done
  die "no free port from $1 to $((port - 1)) for $2"
}

# Another checkout's stack left running on this stack's ports answers at the functions port. Its functions and
# pg_net worker would run their code and secret against the database this run is about to rebuild, so a run
# that resets the stack asks first, before the reset wipes what that stack was serving (after `scripts/stack
# stop`, this checkout's own functions are not running).
refuse_foreign_functions() {
  if curl -s --max-time 2 -o /dev/null "http://127.0.0.1:$FUNCTIONS_PORT/health" 2>/dev/null; then
    die "port $FUNCTIONS_PORT already serves edge functions this checkout did not start (another checkout's stack?): stop that one with its scripts/stack stop, or pick another stack with PG_PORT=55432"
  fi
}
