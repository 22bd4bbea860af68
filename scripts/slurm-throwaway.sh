#!/usr/bin/env bash
# A throwaway single-node Slurm cluster for tests: munged, slurmctld and slurmd in a temp dir, on
# free ports, with no systemd and no slurmdbd (finished jobs are read from the completion log with
# `sacct -c`, and from `scontrol show job` for an hour). A private munge key, made fresh.
#   eval "$(scripts/slurm-throwaway.sh start)"   exports LANTERN_SLURM_DIR and LANTERN_TEST_SLURM_CONF
#   scripts/slurm-throwaway.sh stop "$LANTERN_SLURM_DIR"
#   scripts/slurm-throwaway.sh start --owner PID  also stops it once process PID has exited (a test
#                                                runner killed before its cleanup leaves nothing)
# Clients find the cluster through SLURM_CONF=$LANTERN_TEST_SLURM_CONF. The daemons run as root
# (SlurmUser=root): jobs run as whoever submits them. stop cancels every job, stops the daemons by
# PID (TERM, then KILL) and removes the dir.
set -euo pipefail

# Whether process $2 (/proc/PID) runs a job of the cluster in $1.
job_of() {
  local env
  env=$(tr '\0' '\n' 2>/dev/null <"$2/environ") || return 1
  grep -qxF "SLURM_CONF=$1/slurm.conf" <<<"$env" && grep -qE '^SLURM_JOB_ID=[0-9]+$' <<<"$env"
}

stop() {
  local dir=$1 alive name pid
  [ -f "$dir/pids" ] || { rm -rf "$dir"; return 0; }
  # Jobs first, while slurmctld still answers, and wait (10 s at most) until none is left.
  if [ -f "$dir/slurm.conf" ]; then
    export SLURM_CONF=$dir/slurm.conf
    timeout 10 scancel --quiet --partition=debug >/dev/null 2>&1 || true
    for _ in $(seq 50); do
      [ -z "$(timeout 5 squeue -h -o %i 2>/dev/null)" ] && break
      sleep 0.2
    done
  fi
  tac "$dir/pids" | while read -r name pid; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 50); do
    alive=0
    while read -r name pid; do kill -0 "$pid" 2>/dev/null && alive=1; done <"$dir/pids"
    [ $alive = 0 ] && break
    sleep 0.1
  done
  while read -r name pid; do kill -KILL "$pid" 2>/dev/null || true; done <"$dir/pids"
  # Jobs that outlived slurmd (it died first): their slurmstepd still holds this cluster's slurmd
  # log open, and their processes carry a job id and this cluster's SLURM_CONF, which tell them
  # from another cluster's (and from this script, which has no job id).
  for proc in /proc/[0-9]*; do
    if { [ "$(cat "$proc/comm" 2>/dev/null)" = slurmstepd ] &&
      find "$proc/fd" -maxdepth 1 -lname "$dir/*" 2>/dev/null | grep -q .; } ||
      job_of "$dir" "$proc"; then
      kill -KILL "${proc#/proc/}" 2>/dev/null || true
    fi
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
for bin in mungekey munged munge unmunge slurmctld slurmd sinfo scancel; do
  command -v "$bin" >/dev/null || { echo "$bin is not installed; run scripts/debian-packages.sh test" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "slurm-throwaway: run as root (slurmd starts jobs as their users)" >&2; exit 1; }

# Under /tmp with mode 755: job output and instance folders below it are reached by job users.
DIR=$(mktemp -d /tmp/lantern-slurm.XXXXXX)
chmod 755 "$DIR"
mkdir -p "$DIR"/{munge,state,spool,log}
: >"$DIR/pids"
fail() {
  echo "slurm-throwaway: $1" >&2
  tail -n 20 "$DIR"/log/*.log "$DIR"/log/*.out >&2 2>/dev/null || true
  stop "$DIR"
  exit 1
}
trap 'fail "a step failed (line $LINENO)"' ERR

# Two free ports (controller, node daemon), held together so that they differ.
read -r CTLD_PORT SLURMD_PORT < <(node -e '
  const net = require("net");
  const servers = [0, 1].map(() => net.createServer());
  let open = 0;
  for (const s of servers) s.listen(0, "127.0.0.1", () => {
    if (++open === servers.length) {
      console.log(servers.map((x) => x.address().port).join(" "));
      for (const x of servers) x.close();
    }
  });')

# munge: a private key and socket in DIR (Debian's /etc/munge key is not used). --force only relaxes
# munged's checks of its directories' owners and modes.
mungekey -c -k "$DIR/munge/munge.key"
munged -F --force --socket="$DIR/munge/munge.sock" --key-file="$DIR/munge/munge.key" \
  --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/log/munged.log" \
  --seed-file="$DIR/munge/munged.seed" >"$DIR/log/munged.out" 2>&1 &
echo "munged $!" >>"$DIR/pids"
for _ in $(seq 50); do [ -S "$DIR/munge/munge.sock" ] && break; sleep 0.1; done
munge -n -S "$DIR/munge/munge.sock" | unmunge -S "$DIR/munge/munge.sock" >/dev/null ||
  fail "munge's self-test failed"

# The node as the machine describes itself; 1 GiB under what slurmd finds, or Slurm drains it.
NODE=$(hostname -s)
read -r CPUS MEM < <(slurmd -C | awk '{for(i=1;i<=NF;i++){split($i,a,"="); v[a[1]]=a[2]} print v["CPUs"], v["RealMemory"]}')
[ -n "$CPUS" ] && [ -n "$MEM" ] || fail "slurmd -C did not describe this node"
cat >"$DIR/slurm.conf" <<CONF
ClusterName=lantern-test
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/munge/munge.sock
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
# No slurmdbd: finished jobs go to a completion log that \`sacct -c\` reads.
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.txt
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MpiDefault=none
ReturnToService=2
# Finished jobs stay in \`scontrol show job\` for an hour (the default is 300 s).
MinJobAge=3600
# A job asking for more than a partition's nodes have is refused at once rather than left pending.
EnforcePartLimits=ALL
# Without it each job is given all the node's memory and jobs run one at a time.
DefMemPerCPU=1024
MailProg=/bin/true
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$((MEM - 1024)) State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$DIR/slurm.conf

slurmctld -D -i -f "$SLURM_CONF" >"$DIR/log/slurmctld.out" 2>&1 &
echo "slurmctld $!" >>"$DIR/pids"
slurmd -D -f "$SLURM_CONF" >"$DIR/log/slurmd.out" 2>&1 &
echo "slurmd $!" >>"$DIR/pids"
node_idle() { sinfo -h -o %T 2>/dev/null | grep -qx idle; }
for _ in $(seq 150); do node_idle && break; sleep 0.2; done
node_idle || fail "the node did not become idle within 30 s; logs in $DIR/log"

trap - ERR
if [ -n "$OWNER" ]; then
  # Detached from our output, so that whoever reads it sees it end now.
  (
    while kill -0 "$OWNER" 2>/dev/null && [ -d "$DIR" ]; do sleep 1; done
    [ -d "$DIR" ] && stop "$DIR"
  ) </dev/null >/dev/null 2>&1 &
  disown
fi
echo "export LANTERN_SLURM_DIR=$DIR LANTERN_TEST_SLURM_CONF=$DIR/slurm.conf"
