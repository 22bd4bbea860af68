#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for tests and benchmarks: a temp dir, a free port, no fsync.
#   eval "$(scripts/pg-throwaway.sh start)"   exports LANTERN_PG_DIR and LANTERN_TEST_DATABASE_URL
#   scripts/pg-throwaway.sh stop "$LANTERN_PG_DIR"
# postgres refuses to run as root, so the cluster runs as the postgres user (Debian's package).
set -euo pipefail
BIN=/usr/lib/postgresql/15/bin
RUNAS=(runuser -u postgres --)
case "${1:-start}" in
stop)
  [ -n "${2:-}" ] && [ -d "$2" ] || exit 0
  "${RUNAS[@]}" "$BIN/pg_ctl" -D "$2/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$2"
  exit 0 ;;
start) ;;
*) echo "usage: $0 start | stop DIR" >&2; exit 2 ;;
esac
[ -x "$BIN/initdb" ] || { echo "PostgreSQL 15 is not installed; run scripts/debian-packages.sh test" >&2; exit 1; }
# Under /tmp: the postgres user must reach it (not under /root or a 0700 checkout).
DIR=$(mktemp -d /tmp/lantern-pg.XXXXXX); chown postgres: "$DIR"
PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
echo lantern > "$DIR/pw"; chown postgres: "$DIR/pw"
"${RUNAS[@]}" "$BIN/initdb" -D "$DIR/data" -U postgres --pwfile="$DIR/pw" \
  --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 -N >"$DIR/initdb.log"
"${RUNAS[@]}" "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w -t 30 start \
  -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null
echo "export LANTERN_PG_DIR=$DIR LANTERN_TEST_DATABASE_URL=postgresql://postgres:lantern@127.0.0.1:$PORT/postgres"
