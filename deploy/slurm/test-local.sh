#!/bin/bash
# Runs the Slurm scripts on a real one-node Slurm cluster started on this
# machine: Debian's slurm-wlm and munge (installed if missing), this host
# as the node with 2 CPUs, every file in a temporary directory. It submits
# the array (2 tasks of `mwbench run --quick --workloads sha256d` on the
# default adapter, lavapipe in CI) and the merge job after it, checks the
# merged file holds both tasks, then runs a job whose --time limit ends it
# mid-run and checks that SIGTERM left a complete file marked interrupted,
# or none. Every daemon it started is stopped by pid on exit.
#
#   bash deploy/slurm/test-local.sh          (as root; .ci/run runs it)
#
# MWBENCH: the binary (default: target/debug/mwbench, built if missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
started=$SECONDS

say() { echo "slurm test: $*" >&2; }
fail() { say "FAILED: $*"; exit 1; }

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurm-wlm munge
fi
mwbench="${MWBENCH:-$PWD/target/debug/mwbench}"
if [ ! -x "$mwbench" ]; then
  cargo build --quiet
fi
mwbench="$(realpath "$mwbench")"

tmp="$(mktemp -d /tmp/mwbench-slurm.XXXXXX)"
chmod 700 "$tmp"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  done
  if [ "${KEEP_SLURM_TEST:-}" = "" ]; then
    rm -rf "$tmp"
  else
    say "kept $tmp"
  fi
}
trap cleanup EXIT

# munge: its own key, socket and files, run as root (--force: munged
# refuses root otherwise).
mkdir -p "$tmp/munge"
dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$tmp/munge/munge.key"
munged --foreground --force \
  --key-file="$tmp/munge/munge.key" \
  --socket="$tmp/munge/munge.socket" \
  --pid-file="$tmp/munge/munged.pid" \
  --log-file="$tmp/munge/munged.log" \
  --seed-file="$tmp/munge/munged.seed" >"$tmp/munge/munged.out" 2>&1 &
pids+=($!)

host="$(hostname -s)"
cpus=2
mkdir -p "$tmp/state" "$tmp/spool" "$tmp/results" "$tmp/out"
cat > "$tmp/slurm.conf" <<CONF
ClusterName=mwbench-test
SlurmctldHost=$host
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
AuthInfo=socket=$tmp/munge/munge.socket
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
KillWait=30
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$tmp/slurm.conf"

slurmctld -D -f "$SLURM_CONF" >"$tmp/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" -N "$host" >"$tmp/slurmd.out" 2>&1 &
pids+=($!)

# Wait (bounded) until the node takes jobs.
for _ in $(seq 60); do
  state="$(sinfo -h -N -o %t 2>/dev/null | head -n1 || true)"
  [ "$state" = "idle" ] && break
  sleep 1
done
[ "$state" = "idle" ] || fail "the node never came up (state '$state'); see $tmp/slurmd.log"
say "cluster up in $((SECONDS - started)) s"

export MWBENCH="$mwbench" MWBENCH_RESULTS="$tmp/results" XDG_RUNTIME_DIR="$tmp"
export MWBENCH_ARGS="--quick --workloads sha256d --watts 100 --idle 0"
array="$(sbatch --parsable --array=0-1 --chdir="$tmp/out" deploy/slurm/mwbench-array.sbatch)"
merge="$(sbatch --parsable --dependency=afterok:"$array" --chdir="$tmp/out" deploy/slurm/mwbench-merge.sbatch)"
say "submitted array $array and merge $merge"

site="$tmp/results/site.json"
for _ in $(seq 300); do
  [ -s "$site" ] && break
  if ! squeue -h -j "$array,$merge" -o %i 2>/dev/null | grep -q .; then
    sleep 1
    [ -s "$site" ] && break
    cat "$tmp"/out/* >&2 || true
    fail "the jobs ended without a merged file"
  fi
  sleep 1
done
[ -s "$site" ] || fail "no merged file after 300 s"
for task in 0 1; do
  grep -q "${host}-${array}-${task}.json\"" "$site" || fail "task $task is not in $site"
done
grep -q '"workload": "sha256d"' "$site" || fail "no sha256d group in $site"
say "array and merge done in $((SECONDS - started)) s: $site holds both tasks"

# The time limit: a run far longer than --time=1 gets SIGTERM from Slurm
# (about a minute in, at the next limit check) and must leave a complete
# file marked interrupted, or none.
export MWBENCH_RESULTS="$tmp/limit"
export MWBENCH_ARGS="--workloads sha256d,peak-fma-f32,copy-bandwidth,gemm-f32 --duration 20 --watts 100 --idle 0"
limited="$(sbatch --parsable --time=1 --chdir="$tmp/out" deploy/slurm/mwbench-array.sbatch)"
say "submitted $limited with --time=1"
for _ in $(seq 240); do
  squeue -h -j "$limited" -o %i 2>/dev/null | grep -q . || break
  sleep 1
done
squeue -h -j "$limited" -o %i 2>/dev/null | grep -q . && fail "job $limited outlived its limit by minutes"
ended="$(scontrol show job "$limited" 2>/dev/null | grep -o 'JobState=[A-Z_]*' || true)"
[ "$ended" = "JobState=TIMEOUT" ] || fail "job $limited ended as '$ended', not by its time limit"
files=("$tmp"/limit/*.json)
if [ -e "${files[0]}" ]; then
  for file in "${files[@]}"; do
    # mwbench itself reads it back: a half-written file would fail here.
    "$mwbench" merge "$file" --json >/dev/null || fail "$file is not a complete result file"
    grep -q '"interrupted": true' "$file" || fail "$file is not marked interrupted"
    say "the time limit left $file, marked interrupted, with $(grep -c '"workload":' "$file") workload(s) completed"
  done
else
  say "the time limit left no file (it came before the first workload finished)"
fi
leftovers="$(find "$tmp/limit" -name '.mwbench-*' 2>/dev/null | wc -l)"
[ "$leftovers" = 0 ] || fail "temporary files left in $tmp/limit"
say "passed in $((SECONDS - started)) s"
