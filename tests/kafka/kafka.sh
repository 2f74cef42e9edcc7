#!/usr/bin/env bash
# kafka.sh: run a real single-node Apache Kafka broker (KRaft, combined
# broker+controller) on 127.0.0.1 for integration tests. See README.md.
#
#   kafka.sh fetch          copy the broker jars into the cache (idempotent)
#   kafka.sh start DIR      start a broker with config, data, and logs in DIR; print the bootstrap
#   kafka.sh stop DIR       stop it (SIGTERM, then SIGKILL after KAFKA_STOP_TIMEOUT)
#   kafka.sh restart DIR    start a stopped broker again, same data and port (outage tests)
#   kafka.sh status DIR     exit 0 if DIR's broker is running (and print its bootstrap)
#
# Typical test use:
#   dir=$(mktemp -d); trap 'tests/kafka/kafka.sh stop "$dir"' EXIT
#   bootstrap=$(tests/kafka/kafka.sh start "$dir")
#
# Environment variables (all optional):
#   KAFKA_VERSION          default: <kafka.version> in pom.xml
#   NOISEGATE_KAFKA_CACHE  default: $HOME/.cache/noisegate/kafka-$KAFKA_VERSION (jars go in its libs/)
#   KAFKA_FETCH_TIMEOUT    seconds, default 540
#   KAFKA_START_TIMEOUT    seconds until the broker must serve metadata, default 90
#   KAFKA_STOP_TIMEOUT     seconds to wait after SIGTERM before SIGKILL, default 30
#   KAFKA_HEAP_OPTS        default "-Xms256m -Xmx768m"
#   KAFKA_JVM_OPTS         extra JVM options
#   KAFKA_EXTRA_PROPS      extra server.properties lines (newline-separated), appended last
#   KAFKA_MAX_LIFETIME     seconds; a watchdog kills a broker that was never stopped. Default 3600, 0 = off
#   KAFKA_OWNER_PID        if set, the watchdog also kills the broker when this process is gone
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF=$HERE/$(basename "${BASH_SOURCE[0]}")
POM=$HERE/pom.xml
KAFKA_VERSION=${KAFKA_VERSION:-$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM")}
CACHE=${NOISEGATE_KAFKA_CACHE:-${HOME:-/tmp}/.cache/noisegate/kafka-$KAFKA_VERSION}
LIBS=$CACHE/libs
FETCH_TIMEOUT=${KAFKA_FETCH_TIMEOUT:-540}
START_TIMEOUT=${KAFKA_START_TIMEOUT:-90}
STOP_TIMEOUT=${KAFKA_STOP_TIMEOUT:-30}
HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms256m -Xmx768m}
MAX_LIFETIME=${KAFKA_MAX_LIFETIME:-3600}
if [[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]]; then JAVA=$JAVA_HOME/bin/java; else JAVA=java; fi

log() { echo "kafka.sh: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Stamp of what is in $LIBS: version + pom content (a pom change means a refetch).
stamp() { echo "kafka_2.13-$KAFKA_VERSION pom-$(sha256sum <"$POM" | cut -c1-16)"; }
libs_ok() { [[ -f $LIBS/.complete && "$(cat "$LIBS/.complete")" == "$(stamp)" ]]; }

cmd_fetch() {
  if libs_ok; then log "jars for Kafka $KAFKA_VERSION already in $LIBS"; return 0; fi
  command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
  mkdir -p "$CACHE"
  # The lock fd lives only for this call, so no broker started later inherits it.
  fetch_locked 9>"$CACHE/.lock"
}
fetch_locked() {
  timeout "$FETCH_TIMEOUT" flock 9 || die "timed out waiting for another fetch ($CACHE/.lock)"
  if libs_ok; then return 0; fi   # another process fetched while we waited
  local tmp
  tmp=$(mktemp -d "$CACHE/libs.tmp.XXXXXX")
  log "fetching Kafka $KAFKA_VERSION jars into $LIBS"
  # -f with an absolute pom: nothing is written next to the pom (no target/).
  # Debian's Maven 3.8 prints colour codes even with -B; they are stripped when shown.
  if ! timeout "$FETCH_TIMEOUT" mvn -B -q -f "$POM" -Dkafka.version="$KAFKA_VERSION" \
      dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" \
      </dev/null >"$CACHE/fetch.log" 2>&1; then
    sed 's/\x1b\[[0-9;]*m//g' "$CACHE/fetch.log" | grep -v '^$' | tail -n 20 >&2 || true
    rm -rf "$tmp"
    die "mvn dependency:copy-dependencies failed (limit ${FETCH_TIMEOUT}s; log: $CACHE/fetch.log)"
  fi
  if [[ ! -f $tmp/kafka_2.13-$KAFKA_VERSION.jar ]]; then
    rm -rf "$tmp"
    die "kafka_2.13-$KAFKA_VERSION.jar missing after fetch"
  fi
  stamp >"$tmp/.complete"
  rm -rf "$LIBS.old"
  if [[ -d $LIBS ]]; then mv "$LIBS" "$LIBS.old"; fi
  mv "$tmp" "$LIBS"
  rm -rf "$LIBS.old"
  log "fetched $(find "$LIBS" -name '*.jar' | wc -l) jars"
}

# True if PID is a live (non-zombie) process whose command line contains STRING.
pid_is() {
  local pid=$1 want=$2 st
  [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 1
  st=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ $st != Z ]] || return 1
  { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -qF -- "$want"
}
alive() { [[ -r /proc/$1/stat && "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]]; }
broker_pid() {   # prints the live broker PID of DIR, if any
  local dir=$1 pid
  [[ -f $dir/kafka.pid ]] || return 1
  pid=$(cat "$dir/kafka.pid")
  pid_is "$pid" "$dir/server.properties" || return 1
  echo "$pid"
}

port_free() { ! ss -Htln "( sport = :$1 )" 2>/dev/null | grep -q .; }
# Ports below the kernel's ephemeral range (32768+) so outgoing client connections never take them.
pick_port() {
  local p i
  for i in $(seq 200); do
    p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
    [[ " $* " == *" $p "* ]] && continue
    port_free "$p" && { echo "$p"; return 0; }
  done
  die "no free loopback port found"
}

write_config() {
  local dir=$1 port=$2 cport=$3
  cat >"$dir/server.properties" <<EOF
# Generated by tests/kafka/kafka.sh: single-node KRaft broker+controller on loopback.
node.id=1
process.roles=broker,controller
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
# One node: every internal topic has one replica; few partitions keep startup fast.
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
delete.topic.enable=true
# The tests' estates carry fixed event times, days or weeks old by the time a test runs, and
# their messages keep those times. Time-based retention would delete them at the broker's
# first retention check (5 minutes after start): a long scenario then lost its input.
log.retention.ms=-1
# Small machine (2 cores).
num.network.threads=2
num.io.threads=2
background.threads=2
num.recovery.threads.per.data.dir=1
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=8388608
EOF
  if [[ -n ${KAFKA_EXTRA_PROPS:-} ]]; then printf '%s\n' "# KAFKA_EXTRA_PROPS" "$KAFKA_EXTRA_PROPS" >>"$dir/server.properties"; fi
  cat >"$dir/log4j2.properties" <<'EOF'
# WARN and above to DIR/logs/server.log, plus the broker's "started" line.
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.file.ref = FILE
logger.started.name = kafka.server.KafkaRaftServer
logger.started.level = INFO
EOF
}

# Kafka's Uuid: 16 random bytes, URL-safe base64 without padding, not starting with '-'.
random_cluster_id() {
  local id
  while :; do
    id=$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
    [[ $id != -* && ${#id} == 22 ]] && { echo "$id"; return; }
  done
}

java_common() {
  echo "-Djava.awt.headless=true -Dkafka.logs.dir=$1/logs -Dlog4j2.configurationFile=$1/log4j2.properties -Dlog4j2.shutdownHookEnabled=false"
}

# Watchdog: kill the broker after KAFKA_MAX_LIFETIME seconds or when KAFKA_OWNER_PID is gone;
# exits by itself as soon as the broker is gone.
start_watchdog() {
  local dir=$1 pid=$2 owner=${KAFKA_OWNER_PID:-}
  [[ $MAX_LIFETIME == 0 && -z $owner ]] && return 0
  (
    end=$((SECONDS + (MAX_LIFETIME > 0 ? MAX_LIFETIME : 1000000000)))
    while pid_is "$pid" "$dir/server.properties"; do
      if (( SECONDS >= end )) || { [[ -n $owner ]] && ! kill -0 "$owner" 2>/dev/null; }; then
        echo "[$(date '+%F %T')] watchdog: killing broker $pid (lifetime ${MAX_LIFETIME}s or owner ${owner:-none} gone)" >>"$dir/logs/kafka.out"
        kill -TERM "$pid" 2>/dev/null || true; sleep 10; kill -KILL "$pid" 2>/dev/null || true
        break
      fi
      sleep 1
    done
  ) </dev/null >/dev/null 2>&1 &
  echo $! >"$dir/watchdog.pid"
  disown $!   # no "Killed" job notice when stop_watchdog kills it
}
stop_watchdog() {
  local dir=$1 wpid kids
  [[ -f $dir/watchdog.pid ]] || return 0
  wpid=$(cat "$dir/watchdog.pid")
  if [[ $wpid =~ ^[0-9]+$ ]] && kill -0 "$wpid" 2>/dev/null && pid_is "$wpid" "kafka.sh"; then
    kids=$(pgrep -P "$wpid" || true)
    kill -KILL "$wpid" 2>/dev/null || true
    # shellcheck disable=SC2086
    if [[ -n $kids ]]; then kill -KILL $kids 2>/dev/null || true; fi
    local i k any
    for ((i = 0; i < 50; i++)); do   # bounded wait until they are really gone
      any=0
      for k in $wpid $kids; do alive "$k" && any=1; done
      ((any)) || break
      sleep 0.1
    done
  fi
  rm -f "$dir/watchdog.pid"
}

tail_log() {
  local dir=$1
  log "---- tail of $dir/logs/kafka.out"; tail -n 30 "$dir/logs/kafka.out" >&2 2>/dev/null || true
  log "---- tail of $dir/logs/server.log"; tail -n 30 "$dir/logs/server.log" >&2 2>/dev/null || true
}

kill_pid() {   # SIGTERM, bounded wait, SIGKILL. The caller has checked that PID is the broker.
  local pid=$1 timeout=$2 i
  kill -TERM "$pid" 2>/dev/null || return 0
  # Wait until the process is gone or a zombie (an exiting process loses its cmdline first).
  for ((i = 0; i < timeout * 10; i++)); do alive "$pid" || return 0; sleep 0.1; done
  log "broker $pid still running ${timeout}s after SIGTERM; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do alive "$pid" || return 0; sleep 0.1; done
  log "WARNING: broker $pid did not die after SIGKILL"
  return 1
}

# Starts the broker of DIR (config and storage already there) on PORT and waits until it
# serves metadata. Returns 0 when ready, 1 when it died or did not answer in time.
launch() {
  local dir=$1 port=$2 pid out
  # The broker stays in the caller's process group; all its fds point at files so that
  # $(kafka.sh start DIR) returns at once.
  # shellcheck disable=SC2086,SC2046
  (cd "$dir" && exec "$JAVA" $HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
      -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent \
      -XX:+HeapDumpOnOutOfMemoryError -XX:HeapDumpPath="$dir/logs" ${KAFKA_JVM_OPTS:-} \
      $(java_common "$dir") -cp "$LIBS/*" kafka.Kafka "$dir/server.properties") \
      </dev/null >"$dir/logs/kafka.out" 2>&1 &
  pid=$!
  disown "$pid"
  echo "$pid" >"$dir/kafka.pid"
  # $! is the subshell until it has exec'd java: wait for that (bounded), so that the
  # watchdog and later checks, which match the command line, see the broker.
  local i
  for ((i = 0; i < 100; i++)); do
    if pid_is "$pid" "$dir/server.properties" || ! alive "$pid"; then break; fi
    sleep 0.05
  done
  start_watchdog "$dir" "$pid"
  local deadline=$((SECONDS + START_TIMEOUT)) ready=0
  while ((SECONDS < deadline)); do
    if ! alive "$pid"; then break; fi
    if out=$(timeout 10 kcat -L -b "127.0.0.1:$port" -m 2 2>&1) &&
       grep -q "broker 1 at 127.0.0.1:$port" <<<"$out"; then ready=1; break; fi
    sleep 0.3
  done
  ((ready))
}

cmd_start() {
  local dir=${1:?usage: kafka.sh start DIR}
  command -v kcat >/dev/null || die "kcat not found (apt-get install kcat)"
  command -v "$JAVA" >/dev/null || die "java not found (Java 17+ needed)"
  local jv attempt port cport pid cid out
  jv=$("$JAVA" -version 2>&1 | sed -n '1s/.*version "\([0-9]*\).*/\1/p')
  if ! [[ $jv =~ ^[0-9]+$ ]] || ((jv < 17)); then die "Kafka 4.x needs Java 17+; $JAVA is version '${jv:-?}'"; fi
  libs_ok || cmd_fetch
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if pid=$(broker_pid "$dir"); then die "a broker is already running for $dir (pid $pid)"; fi
  for attempt in 1 2 3; do
    port=$(pick_port)
    cport=$(pick_port "$port")
    rm -rf "$dir/data" "$dir/logs" "$dir/bootstrap" "$dir/kafka.pid"
    mkdir -p "$dir/data" "$dir/logs"
    write_config "$dir" "$port" "$cport"
    cid=$(random_cluster_id)
    echo "$cid" >"$dir/cluster.id"
    # shellcheck disable=SC2046
    if ! timeout 60 "$JAVA" -Xmx256m -XX:TieredStopAtLevel=1 $(java_common "$dir") -cp "$LIBS/*" \
        kafka.tools.StorageTool format -t "$cid" -c "$dir/server.properties" \
        </dev/null >"$dir/logs/format.out" 2>&1; then
      cat "$dir/logs/format.out" >&2
      die "storage format failed (see $dir/logs/format.out)"
    fi
    local ready=0
    launch "$dir" "$port" && ready=1
    pid=$(cat "$dir/kafka.pid")
    if ((ready)); then
      echo "127.0.0.1:$port" >"$dir/bootstrap"
      echo "$cport" >"$dir/controller.port"
      log "Kafka $KAFKA_VERSION ready at 127.0.0.1:$port (pid $pid, ${SECONDS}s since start of kafka.sh, dir $dir)"
      echo "127.0.0.1:$port"
      return 0
    fi
    if alive "$pid"; then
      tail_log "$dir"
      kill_pid "$pid" "$STOP_TIMEOUT" || true
      stop_watchdog "$dir"
      die "broker did not serve metadata within ${START_TIMEOUT}s (logs kept in $dir/logs)"
    fi
    stop_watchdog "$dir"
    if grep -qi "address already in use" "$dir/logs/kafka.out" "$dir/logs/server.log" 2>/dev/null && ((attempt < 3)); then
      log "port $port or $cport was taken meanwhile; retrying with new ports"
      continue
    fi
    tail_log "$dir"
    die "broker exited during startup (logs kept in $dir/logs)"
  done
  die "could not start the broker after 3 attempts"
}

# Starts the stopped broker of DIR again with its data and its port (for outage tests).
cmd_restart() {
  local dir=${1:?usage: kafka.sh restart DIR} pid port
  dir=$(cd "$dir" && pwd)
  if pid=$(broker_pid "$dir"); then die "a broker is already running for $dir (pid $pid)"; fi
  [[ -f $dir/bootstrap && -f $dir/server.properties ]] || die "$dir has no stopped broker"
  port=$(sed 's/.*://' "$dir/bootstrap")
  if launch "$dir" "$port"; then
    log "Kafka restarted at 127.0.0.1:$port (pid $(cat "$dir/kafka.pid"))"
    cat "$dir/bootstrap"
    return 0
  fi
  tail_log "$dir"
  pid=$(cat "$dir/kafka.pid")
  if alive "$pid"; then kill_pid "$pid" "$STOP_TIMEOUT" || true; fi
  stop_watchdog "$dir"
  die "broker did not come back (logs kept in $dir/logs)"
}

cmd_stop() {
  local dir=${1:?usage: kafka.sh stop DIR} pid
  [[ -d $dir ]] || return 0
  dir=$(cd "$dir" && pwd)
  if pid=$(broker_pid "$dir"); then
    local t0=$SECONDS
    kill_pid "$pid" "$STOP_TIMEOUT" || { stop_watchdog "$dir"; return 1; }
    log "broker $pid stopped in $((SECONDS - t0))s"
  fi
  stop_watchdog "$dir"
  rm -f "$dir/kafka.pid"
  return 0
}

cmd_status() {
  local dir=${1:?usage: kafka.sh status DIR} pid
  dir=$(cd "$dir" 2>/dev/null && pwd) || return 1
  pid=$(broker_pid "$dir") || { log "no broker running for $dir"; return 1; }
  log "broker pid $pid"
  cat "$dir/bootstrap"
}

case ${1:-} in
  fetch) cmd_fetch ;;
  restart) shift; cmd_restart "$@" ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  status) shift; cmd_status "$@" ;;
  *) sed -n '2,12p' "$SELF" >&2; exit 2 ;;
esac
