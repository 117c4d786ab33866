#!/bin/sh
# Create the Kafka topics listed in topics.yaml and bring their config in line with it.
#
# Runs inside the official apache/kafka image (busybox sh + awk, no YAML parser), as the
# `kafka-topics` one-shot service of docker-compose.yml and as the k8s Job `kafka-topics`.
# Safe to run again: existing topics are kept (--if-not-exists) and only their config
# (retention.ms, cleanup.policy, ...) is re-applied. Partition counts are never changed here:
# adding partitions moves keys to other partitions and breaks per-aggregate order, so that
# is an operator's decision (kafka-topics.sh --alter --partitions N).
#
# Environment:
#   BOOTSTRAP_SERVER    broker to talk to                    (default kafka:9092)
#   TOPICS_FILE         the topic list                       (default: topics.yaml next to this script)
#   KAFKA_BIN           where kafka-topics.sh lives          (default /opt/kafka/bin)
#   REPLICATION_FACTOR  overrides every topic's replication_factor (1 on a single broker)
#   WAIT_ATTEMPTS       how many times to try the broker, 2 s apart (default 60)
set -eu

BOOTSTRAP_SERVER="${BOOTSTRAP_SERVER:-kafka:9092}"
TOPICS_FILE="${TOPICS_FILE:-$(dirname "$0")/topics.yaml}"
KAFKA_BIN="${KAFKA_BIN:-/opt/kafka/bin}"
REPLICATION_FACTOR="${REPLICATION_FACTOR:-}"
WAIT_ATTEMPTS="${WAIT_ATTEMPTS:-60}"

[ -r "$TOPICS_FILE" ] || { echo "create-topics: cannot read $TOPICS_FILE" >&2; exit 1; }

attempt=1
until "$KAFKA_BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP_SERVER" --list >/dev/null 2>&1; do
  if [ "$attempt" -ge "$WAIT_ATTEMPTS" ]; then
    echo "create-topics: broker $BOOTSTRAP_SERVER not reachable after $attempt attempts" >&2
    exit 1
  fi
  attempt=$((attempt + 1))
  sleep 2
done

# One line per topic: "<name> <partitions> <replication_factor> <key=value,key=value>".
plan="$(mktemp)"
trap 'rm -f "$plan"' EXIT
awk -v q="'" '
  function flush() {
    if (name != "") print name, partitions, rf, (configs == "" ? "-" : configs)
    name = ""; partitions = ""; rf = ""; configs = ""
  }
  function value(line) {
    sub(/^[^:]*:[ \t]*/, "", line)          # drop "key:"
    sub(/[ \t]+#.*$/, "", line)             # drop a trailing comment
    gsub(/"/, "", line); gsub(q, "", line)  # drop quotes
    gsub(/[ \t]+$/, "", line)
    return line
  }
  /^[ \t]*#/ || /^[ \t]*$/ { next }
  /^[ \t]*-[ \t]*name:/          { flush(); name = value($0); next }
  /^[ \t]*partitions:/           { partitions = value($0); next }
  /^[ \t]*replication_factor:/   { rf = value($0); next }
  /^[ \t]*config:[ \t]*$/        { next }
  /^[ \t]+[a-z]+\.[a-z.]+:/ {
    key = $0; sub(/^[ \t]+/, "", key); sub(/:.*$/, "", key)
    configs = configs (configs == "" ? "" : ",") key "=" value($0)
    next
  }
  END { flush() }
' "$TOPICS_FILE" >"$plan"

count=0
while read -r name partitions rf configs; do
  if [ -z "$name" ] || [ -z "$partitions" ] || [ -z "$rf" ]; then
    echo "create-topics: incomplete entry for '${name:-?}' in $TOPICS_FILE" >&2
    exit 1
  fi
  [ -n "$REPLICATION_FACTOR" ] && rf="$REPLICATION_FACTOR"

  config_args=""
  if [ "$configs" != "-" ]; then
    old_ifs="$IFS"; IFS=","
    for kv in $configs; do config_args="$config_args --config $kv"; done
    IFS="$old_ifs"
  fi

  echo "create-topics: $name partitions=$partitions replication-factor=$rf config=$configs"
  # shellcheck disable=SC2086  # config_args is a list of words without spaces
  "$KAFKA_BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP_SERVER" --create --if-not-exists \
    --topic "$name" --partitions "$partitions" --replication-factor "$rf" $config_args
  if [ "$configs" != "-" ]; then
    "$KAFKA_BIN/kafka-configs.sh" --bootstrap-server "$BOOTSTRAP_SERVER" --alter \
      --entity-type topics --entity-name "$name" --add-config "$configs"
  fi
  count=$((count + 1))
done <"$plan"

[ "$count" -gt 0 ] || { echo "create-topics: no topics found in $TOPICS_FILE" >&2; exit 1; }
echo "create-topics: $count topics ready on $BOOTSTRAP_SERVER"
