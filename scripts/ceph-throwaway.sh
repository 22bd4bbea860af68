#!/usr/bin/env bash
# A throwaway single-node Ceph with an S3 endpoint, for tests and benchmarks: one monitor, one
# memstore OSD (objects in memory, pools of size 1) and radosgw, in a temp dir on free ports, with
# no systemd, no cephx and no manager. A user with fresh random keys is created.
#   eval "$(scripts/ceph-throwaway.sh start)"   exports LANTERN_CEPH_DIR, LANTERN_TEST_S3_ENDPOINT,
#                                               LANTERN_TEST_S3_ACCESS_KEY, LANTERN_TEST_S3_SECRET_KEY
#   scripts/ceph-throwaway.sh stop "$LANTERN_CEPH_DIR"
#   scripts/ceph-throwaway.sh start --owner PID   also stops it once process PID has exited (a test
#                                               runner killed before its cleanup leaves nothing)
# Everything (config, data, logs, sockets, pid files) lives in the temp dir; stop kills the three
# daemons by PID (SIGKILL: memstore keeps nothing worth a clean shutdown) and removes the dir.
set -euo pipefail

stop() {
  local dir=$1 alive name pid
  [ -f "$dir/pids" ] || { rm -rf "$dir"; return 0; }
  while read -r name pid; do kill -KILL "$pid" 2>/dev/null || true; done <"$dir/pids"
  for _ in $(seq 50); do
    alive=0
    while read -r name pid; do kill -0 "$pid" 2>/dev/null && alive=1; done <"$dir/pids"
    [ $alive = 0 ] && break
    sleep 0.1
  done
  rm -rf "$dir"
}

case "${1:-start}" in
stop)
  [ -n "${2:-}" ] && [ -d "$2" ] || exit 0
  stop "$2"
  exit 0 ;;
start)
  OWNER=
  if [ "${2:-}" = --owner ]; then
    [[ "${3:-}" =~ ^[0-9]+$ ]] || { echo "usage: $0 start [--owner PID]" >&2; exit 2; }
    OWNER=$3
  fi ;;
*) echo "usage: $0 start [--owner PID] | stop DIR" >&2; exit 2 ;;
esac
for bin in monmaptool ceph-mon ceph-osd radosgw radosgw-admin ceph curl; do
  command -v "$bin" >/dev/null || { echo "$bin is not installed; run scripts/debian-packages.sh test" >&2; exit 1; }
done

DIR=$(mktemp -d /tmp/lantern-ceph.XXXXXX)
# On any failure: say where the logs are, show the end of them, and leave nothing running.
fail() {
  echo "ceph-throwaway: $1" >&2
  tail -n 20 "$DIR"/log/*.log "$DIR"/log/*.out >&2 2>/dev/null || true
  stop "$DIR"
  exit 1
}
trap 'fail "a step failed (line $LINENO)"' ERR

# Three free ports (monitor v2 and v1, radosgw), held together so that they differ; the daemons'
# own messengers bind in the 100 ports above a fourth, skipping any already in use.
read -r MON_V2 MON_V1 RGW_PORT MS_PORT_MIN < <(node -e '
  const net = require("net");
  const servers = [0, 1, 2, 3].map(() => net.createServer());
  let open = 0;
  for (const s of servers) s.listen(0, "127.0.0.1", () => {
    if (++open === servers.length) {
      console.log(servers.map((x) => x.address().port).join(" "));
      for (const x of servers) x.close();
    }
  });')
[ "$MS_PORT_MIN" -le 65435 ] || MS_PORT_MIN=$((MS_PORT_MIN - 100))
ACCESS_KEY=$(od -An -tx1 -N10 /dev/urandom | tr -d ' \n' | tr a-f A-F)
SECRET_KEY=$(od -An -tx1 -N20 /dev/urandom | tr -d ' \n')
FSID=$(cat /proc/sys/kernel/random/uuid)
OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
mkdir -p "$DIR"/{mon,osd/ceph-0,run,log,rgw,crash}
: >"$DIR/pids"
T0=$(date +%s%N)
# Phase timings, milliseconds since the start, in $DIR/timing (kept while the cluster runs).
t() { echo "$1 $((($(date +%s%N) - T0) / 1000000))ms" >>"$DIR/timing"; }

cat >"$DIR/ceph.conf" <<CONF
[global]
fsid = $FSID
mon host = [v2:127.0.0.1:$MON_V2,v1:127.0.0.1:$MON_V1]
public addr = 127.0.0.1
auth cluster required = none
auth service required = none
auth client required = none
# Without these radosgw loops on "get_initial_auth_request returned -13" and never listens.
ms cluster mode = crc
ms service mode = crc
ms client mode = crc
ms mon cluster mode = crc
ms mon service mode = crc
ms mon client mode = crc
ms bind port min = $MS_PORT_MIN
ms bind port max = $((MS_PORT_MIN + 99))
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
pid file = $DIR/run/\$name.pid
crash dir = $DIR/crash
mon data = $DIR/mon/\$cluster-\$id
osd data = $DIR/osd/\$cluster-\$id
osd objectstore = memstore
memstore device bytes = 1073741824
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
mon data avail warn = 2
mon data avail crit = 1
# The default (1 s per proposal) makes radosgw's first start, which creates its pools, take ~10 s.
paxos propose interval = 0.05
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw data = $DIR/rgw
rgw dns name = localhost
CONF
export CEPH_CONF=$DIR/ceph.conf

# Monitor.
monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_V2,v1:127.0.0.1:$MON_V1]" \
  "$DIR/monmap" >/dev/null
ceph-mon --mkfs -i a --monmap "$DIR/monmap" >"$DIR/log/mon-mkfs.out" 2>&1
ceph-mon -f -i a >"$DIR/log/mon.out" 2>&1 &
echo "mon $!" >>"$DIR/pids"
t mon-started

# OSD on memstore; `osd new` waits for the monitor to answer.
OSD_ID=$(ceph --connect-timeout 20 osd new "$OSD_UUID" 2>>"$DIR/log/ceph-cli.out")
t mon-answered
ceph-osd -i "$OSD_ID" --mkfs --osd-uuid "$OSD_UUID" >"$DIR/log/osd-mkfs.out" 2>&1
ceph-osd -f -i "$OSD_ID" >"$DIR/log/osd.out" 2>&1 &
echo "osd $!" >>"$DIR/pids"
osd_up() { ceph osd dump 2>/dev/null | grep -q "^osd.$OSD_ID up"; }
for _ in $(seq 150); do osd_up && break; sleep 0.2; done
osd_up || fail "the OSD did not come up within 30 s; logs in $DIR/log"
t osd-up

# radosgw. Ready when its HTTP port answers (radosgw-admin works even when radosgw cannot).
radosgw -f -n client.rgw.a >"$DIR/log/rgw.out" 2>&1 &
echo "rgw $!" >>"$DIR/pids"
rgw_up() { curl -s -o /dev/null "http://127.0.0.1:$RGW_PORT/"; }
for _ in $(seq 300); do rgw_up && break; sleep 0.2; done
rgw_up || fail "radosgw did not answer on port $RGW_PORT within 60 s; logs in $DIR/log"
t rgw-up
radosgw-admin user create --uid=lantern-test --display-name="Lantern tests" \
  --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null 2>>"$DIR/log/ceph-cli.out"

t user-created
trap - ERR
if [ -n "$OWNER" ]; then
  # Detached from our output, so that whoever reads it sees it end now.
  (
    while kill -0 "$OWNER" 2>/dev/null && [ -d "$DIR" ]; do sleep 1; done
    [ -d "$DIR" ] && stop "$DIR"
  ) </dev/null >/dev/null 2>&1 &
  disown
fi
echo "export LANTERN_CEPH_DIR=$DIR LANTERN_TEST_S3_ENDPOINT=http://127.0.0.1:$RGW_PORT LANTERN_TEST_S3_ACCESS_KEY=$ACCESS_KEY LANTERN_TEST_S3_SECRET_KEY=$SECRET_KEY"
