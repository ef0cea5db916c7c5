#!/usr/bin/env bash
# run.sh: starts the whole outboxkit demo on a machine with nothing but a JDK (17+) and Maven.
#
#   ./run.sh           builds the jars that are missing, starts PostgreSQL (embedded, data kept in
#                      .data/postgres), order-service, consumer and outbox-relay, and runs until
#                      Ctrl-C or SIGTERM, which stop everything cleanly (PostgreSQL last).
#   ./run.sh --build   rebuilds every jar first (after changing the sources).
#   SINK=kafka ./run.sh  the same through a broker: kafka, rabbitmq or nats (default http: the relay
#                      POSTs to the consumer). The relay gets SINK and the consumer SOURCE, both this.
#                      kafka: starts dev-kafka (a real single-node Kafka, data kept in .data/kafka) on
#                      KAFKA_PORT unless KAFKA_BOOTSTRAP_SERVERS is set; rabbitmq and nats: use the
#                      broker at RABBITMQ_URI / NATS_URL (defaults localhost:5672 guest/guest and
#                      localhost:4222, which must run JetStream: nats-server -js).
#
# Environment:
#   DB_URL, DB_USER, DB_PASSWORD   use this PostgreSQL instead of starting the embedded one
#   SINK (http), KAFKA_BOOTSTRAP_SERVERS, KAFKA_TOPIC, KAFKA_DEAD_LETTER_TOPIC, RABBITMQ_URI, RABBITMQ_EXCHANGE,
#   NATS_URL, NATS_STREAM, NATS_SUBJECT_PREFIX, CONSUMER_NAME   the broker and its settings (see README,
#                                  "Through a broker")
#   OUTBOX_SCHEMA, OUTBOX_TABLE, PROCESSED_TABLE, OUTBOX_CHANNEL   the outbox's names, passed on to all three
#                                  services alike (see README, "Configuration"); the replay-cli lines printed
#                                  at start carry them as its options
#   ORDER_PORT (8080), CONSUMER_PORT (8081), RELAY_PORT (8082), PG_PORT (5433), KAFKA_PORT (9092)
#   JAVA_OPTS                      extra JVM options for every process (the services' own are in
#                                  ops/jvm: services.options, then NAME.options; these come last, so they win)
#   CDS (on)                       off: start the services without their class archives (.data/cds)
#   DEV_PG_USER                    as root: run the embedded PostgreSQL under this (system) user,
#                                  created if missing, instead of in a user namespace
#
# Each service gets PORT (its HTTP port) and DB_URL/DB_USER/DB_PASSWORD; the relay also gets
# CONSUMER_URL. HEALTH_PORT and SHUTDOWN_DELAY_MS are removed from the services' environment (one
# health port cannot serve two services; a long delay would outlast run.sh's 30 s stop). Every
# log line is prefixed with the process name, e.g. "[order-service] ...".
# Exit status: 0 after a requested stop, 1 when something failed to start or died, 2 for a bad argument.
set -euo pipefail

if ((BASH_VERSINFO[0] < 4 || (BASH_VERSINFO[0] == 4 && BASH_VERSINFO[1] < 4))); then
    echo "run.sh: needs bash 4.4 or newer (this is $BASH_VERSION)" >&2
    exit 1
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

BUILD=0
case "${1:-}" in
    "") ;;
    --build) BUILD=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (try ./run.sh --help)" >&2; exit 2 ;;
esac

ORDER_PORT="${ORDER_PORT:-8080}"
CONSUMER_PORT="${CONSUMER_PORT:-8081}"
RELAY_PORT="${RELAY_PORT:-8082}"
PG_PORT="${PG_PORT:-5433}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
SINK="${SINK:-http}"
SINK="${SINK,,}"
case "$SINK" in
    http | kafka | rabbitmq | nats) ;;
    *) echo "run.sh: SINK=$SINK is not http, kafka, rabbitmq or nats" >&2; exit 2 ;;
esac
DATA_ROOT="$ROOT/.data"
PG_DATA="$DATA_ROOT/postgres"
PG_LOG="$DATA_ROOT/dev-postgres.log"
PG_START_SECONDS=180     # the first start unpacks PostgreSQL and runs initdb
KAFKA_DATA="$DATA_ROOT/kafka"
KAFKA_LOG="$DATA_ROOT/dev-kafka.log"
KAFKA_START_SECONDS=120
SERVICE_START_SECONDS=90
STOP_SECONDS=30
CDS_DIR="$DATA_ROOT/cds"

SERVICES=(order-service consumer outbox-relay)
JARS=(order-service/target/order-service.jar consumer/target/consumer.jar
      outbox-relay/target/outbox-relay.jar dev-postgres/target/dev-postgres.jar
      replay-cli/target/replay-cli.jar)
if [[ $SINK == kafka && -z ${KAFKA_BOOTSTRAP_SERVERS:-} ]]; then
    JARS+=(dev-kafka/target/dev-kafka.jar)
fi

SERVICE_PIDS=()
SERVICE_NAMES=()
PREFIX_PIDS=()
LAUNCHED_PID=""
PG_PID=""
PG_STARTED=0
KAFKA_PID=""
STOP_REQUESTED=0

say() { printf '[run.sh] %s\n' "$*"; }
fail() { printf '[run.sh] error: %s\n' "$*" >&2; exit 1; }
# A database URL as it may be shown: no parameters (a password may be one), no user-info's password.
shown_url() { local url="${1%%\?*}"; [[ $url =~ ^([a-z:]+//)([^/@:]+):[^/@]*@(.*)$ ]] && url="${BASH_REMATCH[1]}${BASH_REMATCH[2]}:***@${BASH_REMATCH[3]}"; printf '%s' "$url"; }

# --- checks ------------------------------------------------------------------------------------

check_port_number() { # NAME VALUE
    if ! [[ $2 =~ ^[0-9]+$ ]] || (($2 < 1 || $2 > 65535)); then
        fail "$1=$2 is not a TCP port from 1 to 65535"
    fi
}

# Whether something accepts connections on 127.0.0.1:PORT.
listening() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

require_free() { # NAME PORT
    if listening "$2"; then
        fail "port $2 ($1) is already in use: stop what listens there, or choose another port with $1=..."
    fi
}

# The status code of GET http://127.0.0.1:PORT/PATH, or nothing when there is no HTTP answer.
http_status() { # PORT PATH
    (
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf 'GET %s HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$2" >&3
        IFS= read -r -t 3 line <&3 || exit 1
        [[ $line =~ ^HTTP/[0-9.]+\ ([0-9]{3}) ]] && printf '%s' "${BASH_REMATCH[1]}"
    ) 2>/dev/null || true
}

# Copies stdin to stdout with every line prefixed by "[NAME] ", each line written as it comes. It
# ignores Ctrl-C and SIGTERM, which may reach the whole process group, so it relays its process's
# last lines while that shuts down; it ends at EOF, when its process has exited. awk, not a bash
# read loop: bash reads a pipe one byte per system call, which caps a consumer printing a line per
# message (PROCESSING ...) at some ten thousand messages a second and costs a core doing it.
prefix() { # NAME
    trap '' INT TERM
    exec awk -v prefix="[$1] " '{ print prefix $0; fflush() }'
}

# Runs COMMAND in the background with its output (both streams) prefixed by "[NAME] ", and also
# appended unprefixed to LOG when one is given; sets LAUNCHED_PID to the command's own PID (so it
# can be signalled) and remembers the prefixing process, to let it finish at the end.
launch() { # NAME LOG COMMAND...
    local name=$1 log=$2 out
    shift 2
    if [[ -n $log ]]; then
        exec {out}> >(trap '' INT TERM; tee -a "$log" | prefix "$name")
    else
        exec {out}> >(prefix "$name")
    fi
    PREFIX_PIDS+=($!)
    "$@" </dev/null >&"$out" 2>&1 {out}>&- &
    LAUNCHED_PID=$!
    exec {out}>&-
}

alive() { [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; }

# await_ready NAME LOG SECONDS PID_VAR: waits for NAME's "NAME: ready on port" line in LOG; fails
# when it exits first (clearing PID_VAR, so that the clean-up leaves it alone) or after SECONDS.
await_ready() {
    local name=$1 log=$2 seconds=$3
    local -n ready_pid=$4
    local deadline=$((SECONDS + seconds))
    until grep -q "^$name: ready on port" "$log"; do
        if ! alive "$ready_pid"; then
            local status=0
            wait "$ready_pid" || status=$?
            ready_pid=""
            fail "$name exited with status $status during start: $(grep "^$name:" "$log" | tail -n 1 || true)"
        fi
        ((SECONDS < deadline)) || fail "$name was not ready within ${seconds}s (see its lines above)"
        sleep 0.2
    done
}

# Waits until every PID has exited, up to SECONDS; returns 1 if some are still running then.
wait_gone() { # SECONDS PID...
    local deadline=$((SECONDS + $1)) pid
    shift
    for pid in "$@"; do
        while alive "$pid"; do
            ((SECONDS < deadline)) || return 1
            sleep 0.2
        done
    done
}

# --- stopping (runs on every exit) -------------------------------------------------------------

stop_all() {
    local status=$? pid i
    trap '' INT TERM
    trap - EXIT
    ((STOP_REQUESTED)) && status=0
    local running=()
    for i in "${!SERVICE_PIDS[@]}"; do
        pid="${SERVICE_PIDS[$i]}"
        if alive "$pid"; then
            say "stopping ${SERVICE_NAMES[$i]} (pid $pid)"
            kill -TERM "$pid" 2>/dev/null || true
            running+=("$pid")
        fi
    done
    if ((${#running[@]})) && ! wait_gone "$STOP_SECONDS" "${running[@]}"; then
        for pid in "${running[@]}"; do
            if alive "$pid"; then
                say "pid $pid did not stop within ${STOP_SECONDS}s: killing it"
                kill -KILL "$pid" 2>/dev/null || true
            fi
        done
        status=1
    fi
    for pid in "${SERVICE_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if alive "$KAFKA_PID"; then
        say "stopping dev-kafka (pid $KAFKA_PID)"
        kill -TERM "$KAFKA_PID" 2>/dev/null || true
        if ! wait_gone "$STOP_SECONDS" "$KAFKA_PID"; then
            say "dev-kafka did not stop within ${STOP_SECONDS}s: killing it"
            kill -KILL "$KAFKA_PID" 2>/dev/null || true
            status=1
        fi
        wait "$KAFKA_PID" 2>/dev/null || true
    fi
    if alive "$PG_PID"; then
        say "stopping dev-postgres (pid $PG_PID)"
        kill -TERM "$PG_PID" 2>/dev/null || true
        if ! wait_gone "$STOP_SECONDS" "$PG_PID"; then
            say "dev-postgres did not stop within ${STOP_SECONDS}s: killing it"
            kill -KILL "$PG_PID" 2>/dev/null || true
            status=1
        fi
        wait "$PG_PID" 2>/dev/null || true
    fi
    if ((PG_STARTED)); then
        stop_leftover_postgres
    fi
    if ((${#PREFIX_PIDS[@]})); then
        wait_gone 5 "${PREFIX_PIDS[@]}" || true # their last lines, before ours
    fi
    if ((PG_STARTED || ${#SERVICE_PIDS[@]})) || [[ -n $KAFKA_PID ]]; then
        say "stopped"
    fi
    exit "$status"
}

# The pid of a dev-postgres another ./run.sh started on our data directory, if one runs.
other_run_on_data() {
    local pid
    command -v pgrep >/dev/null 2>&1 || return 1
    for pid in $(pgrep -f 'dev-postgres\.jar' || true); do
        if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qxF "DATA_DIR=$PG_DATA"; then
            echo "$pid"
            return 0
        fi
    done
    return 1
}

# A PostgreSQL left running on our data directory (its dev-postgres was killed): a fast shutdown.
stop_leftover_postgres() {
    local pid
    [[ -f $PG_DATA/postmaster.pid ]] || return 0
    pid="$(head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null || true)"
    [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" || return 0
    if [[ -r /proc/$pid/cmdline ]] && ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$PG_DATA"; then
        # The pid was reused (after a reboot, say) by another program, not a postgres: PostgreSQL
        # would take that program for a server still running on the data and refuse to start.
        if [[ $(cat "/proc/$pid/comm" 2>/dev/null) != postgres* ]]; then
            say "removing $PG_DATA/postmaster.pid: its pid $pid now belongs to another program"
            rm -f "$PG_DATA/postmaster.pid"
        fi
        return 0
    fi
    say "stopping a PostgreSQL left running on $PG_DATA (pid $pid)"
    kill -INT "$pid" 2>/dev/null || true
    wait_gone "$STOP_SECONDS" "$pid" || fail "PostgreSQL (pid $pid) did not stop; stop it by hand"
}

trap stop_all EXIT
trap 'STOP_REQUESTED=1; echo; say "stop requested"; exit 0' INT TERM

# --- build -------------------------------------------------------------------------------------

for name in ORDER_PORT CONSUMER_PORT RELAY_PORT PG_PORT KAFKA_PORT; do check_port_number "$name" "${!name}"; done
command -v java >/dev/null || fail "java is not on the PATH: install a JDK 17 or newer"

missing=()
for jar in "${JARS[@]}"; do [[ -f $jar ]] || missing+=("$jar"); done
if ((BUILD || ${#missing[@]})); then
    command -v mvn >/dev/null || fail "Maven (mvn) is not on the PATH; it is needed to build ${missing[*]:-the jars}"
    say "building (mvn -B -q -DskipTests package)${missing[*]:+: missing ${missing[*]}}"
    mvn -B -q -DskipTests package || fail "the build failed (see above)"
fi

# --- PostgreSQL --------------------------------------------------------------------------------

# How to run the embedded PostgreSQL, which refuses to run as root. As root, zonky's launcher runs
# initdb/pg_ctl in a user namespace (unshare -U) where it is not root; where user namespaces are
# unavailable (or DEV_PG_USER is set), it runs under an unprivileged system user instead.
pg_command() {
    local user="${DEV_PG_USER:-}"
    PG_CMD=(java)
    if (($(id -u) != 0)); then
        return
    fi
    if [[ -z $user ]] && unshare -U true 2>/dev/null; then
        own_data root
        return
    fi
    user="${user:-outboxdev}"
    if ! id -u "$user" >/dev/null 2>&1; then
        say "creating system user $user to run PostgreSQL (it refuses to run as root)"
        useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$user" \
            || fail "cannot create user $user; set DEV_PG_USER to an existing unprivileged user"
    fi
    own_data "$user"
    local jar="$ROOT/dev-postgres/target/dev-postgres.jar"
    if ! run_as "$user" test -r "$jar" -a -w "$PG_DATA" -a -w "$DATA_ROOT/tmp"; then
        fail "user $user cannot read $jar or write $PG_DATA: every directory above $ROOT must be searchable by others (chmod o+x)"
    fi
    if command -v setpriv >/dev/null; then # setpriv execs, so the PID we hold is java's own
        PG_CMD=(setpriv "--reuid=$user" "--regid=$(id -g "$user")" --init-groups --)
    else
        PG_CMD=(runuser -u "$user" --)
    fi
    PG_CMD+=(env "HOME=$DATA_ROOT/tmp" java "-Djava.io.tmpdir=$DATA_ROOT/tmp")
}

# In its own session, a signal sent to run.sh's whole process group (Ctrl-C, kill -TERM -PGID)
# does not reach dev-postgres: run.sh stops it itself, after the services. (setsid execs without
# forking here, as a background job is no group leader, so the PID we hold stays java's.)
detach() {
    if command -v setsid >/dev/null; then
        PG_CMD=(setsid "${PG_CMD[@]}")
    fi
}

run_as() { # USER COMMAND...
    local user=$1
    shift
    if command -v setpriv >/dev/null; then
        setpriv "--reuid=$user" "--regid=$(id -g "$user")" --init-groups -- "$@"
    else
        runuser -u "$user" -- "$@"
    fi
}

# Makes OWNER own the data directory (it may have been created by the other way of running).
own_data() { # OWNER
    mkdir -p "$PG_DATA" "$DATA_ROOT/tmp"
    chmod 700 "$PG_DATA"
    local dir
    for dir in "$PG_DATA" "$DATA_ROOT/tmp"; do
        if [[ $(stat -c %U "$dir") != "$1" ]]; then
            chown -R "$1:$(id -gn "$1")" "$dir"
        fi
    done
}

start_postgres() {
    mkdir -p "$DATA_ROOT"
    local other
    if other="$(other_run_on_data)"; then # its PostgreSQL is no leftover: leave it alone
        fail "another ./run.sh is running on $PG_DATA (its dev-postgres is pid $other): stop it first, or run this one from another checkout"
    fi
    stop_leftover_postgres
    require_free PG_PORT "$PG_PORT"
    pg_command
    detach
    : >"$PG_LOG"
    say "starting dev-postgres on port $PG_PORT (data in $PG_DATA)"
    # shellcheck disable=SC2086 # JAVA_OPTS is a list of options
    launch dev-postgres "$PG_LOG" env PORT="$PG_PORT" DATA_DIR="$PG_DATA" \
        "${PG_CMD[@]}" ${JAVA_OPTS:-} -jar "$ROOT/dev-postgres/target/dev-postgres.jar"
    PG_PID=$LAUNCHED_PID
    PG_STARTED=1
    await_ready dev-postgres "$PG_LOG" "$PG_START_SECONDS" PG_PID
    export DB_URL="jdbc:postgresql://localhost:$PG_PORT/outbox" DB_USER=outbox DB_PASSWORD=outbox
}

require_free ORDER_PORT "$ORDER_PORT"
require_free CONSUMER_PORT "$CONSUMER_PORT"
require_free RELAY_PORT "$RELAY_PORT"
if [[ -n ${DB_URL:-} ]]; then
    say "using the database at $(shown_url "$DB_URL") (DB_URL is set)"
    export DB_URL
    [[ -n ${DB_USER:-} ]] && export DB_USER
    [[ -n ${DB_PASSWORD:-} ]] && export DB_PASSWORD
else
    start_postgres
fi

# --- broker ------------------------------------------------------------------------------------

# host:port of a broker URI: the authority without user-info, the port defaulting to $2.
uri_host_port() { # URI DEFAULT_PORT
    local rest="${1#*://}"
    rest="${rest%%/*}"
    rest="${rest##*@}"
    rest="${rest%%,*}"
    [[ $rest == *:* ]] && printf '%s' "$rest" || printf '%s:%s' "$rest" "$2"
}

# Whether something accepts connections on HOST:PORT.
reachable() { # HOST:PORT
    (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null
}

start_kafka() {
    mkdir -p "$KAFKA_DATA"
    require_free KAFKA_PORT "$KAFKA_PORT"
    : >"$KAFKA_LOG"
    say "starting dev-kafka on port $KAFKA_PORT (data in $KAFKA_DATA)"
    local cmd=(java -Xms64m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1)
    command -v setsid >/dev/null && cmd=(setsid "${cmd[@]}") # stopped by run.sh, after the services
    # shellcheck disable=SC2086 # JAVA_OPTS is a list of options
    launch dev-kafka "$KAFKA_LOG" env PORT="$KAFKA_PORT" DATA_DIR="$KAFKA_DATA" \
        "${cmd[@]}" ${JAVA_OPTS:-} -jar "$ROOT/dev-kafka/target/dev-kafka.jar"
    KAFKA_PID=$LAUNCHED_PID
    await_ready dev-kafka "$KAFKA_LOG" "$KAFKA_START_SECONDS" KAFKA_PID
    export KAFKA_BOOTSTRAP_SERVERS="localhost:$KAFKA_PORT"
}

BROKER_NOTE=""
case "$SINK" in
    kafka)
        if [[ -n ${KAFKA_BOOTSTRAP_SERVERS:-} ]]; then
            say "using Kafka at $KAFKA_BOOTSTRAP_SERVERS (KAFKA_BOOTSTRAP_SERVERS is set)"
        else
            start_kafka
            BROKER_NOTE=" (dev-kafka, data in .data/kafka)"
        fi
        BROKER_AT="$KAFKA_BOOTSTRAP_SERVERS" ;;
    rabbitmq)
        BROKER_AT="$(uri_host_port "${RABBITMQ_URI:-amqp://localhost:5672/}" 5672)"
        reachable "$BROKER_AT" || fail "RabbitMQ is not answering on $BROKER_AT: start it (docker compose up -d rabbitmq) or set RABBITMQ_URI" ;;
    nats)
        BROKER_AT="$(uri_host_port "${NATS_URL:-nats://localhost:4222}" 4222)"
        reachable "$BROKER_AT" || fail "NATS is not answering on $BROKER_AT: start it with JetStream (nats-server -js, or docker compose up -d nats) or set NATS_URL" ;;
esac

# --- services ----------------------------------------------------------------------------------

# Class Data Sharing: a service's first start writes an archive of the classes it loaded (as it
# stops), and its later starts map that archive instead of reading, parsing and verifying those
# classes from the jar again, which is about half of the CPU a start takes. An archive older than its
# jar (rebuilt since) is written anew. CDS=off starts without one.
class_archive() { # NAME: prints the JVM option for NAME's archive
    local archive="$CDS_DIR/$1.jsa" jar="$ROOT/$1/target/$1.jar"
    # The archive a run wrote as it stopped is kept only if that run became ready: one stopped
    # during its start holds a fraction of the classes, and would be reused as it is.
    if [[ -f $archive.new ]]; then
        if [[ -f $CDS_DIR/$1.ready ]]; then mv -f "$archive.new" "$archive"; else rm -f "$archive.new"; fi
    fi
    rm -f "$CDS_DIR/$1.ready"
    if [[ -f $archive && $archive -nt $jar ]]; then
        printf '%s' "-XX:SharedArchiveFile=$archive"
    else
        rm -f "$archive"
        printf '%s' "-XX:ArchiveClassesAtExit=$archive.new"
    fi
}

start_service() { # NAME PORT [VAR=VALUE...]
    local name=$1 port=$2 cds=() own=()
    shift 2
    [[ -f $ROOT/ops/jvm/$name.options ]] && own=("@$ROOT/ops/jvm/$name.options")
    # A JFR recording (JAVA_OPTS=-XX:StartFlightRecording...) with a dynamic class archive crashed
    # JDK 17.0.15 at start (SIGSEGV in KlassFactory::check_shared_class_file_load_hook): not both.
    if [[ ${CDS:-on} != off && ${JAVA_OPTS:-} != *FlightRecord* ]]; then
        mkdir -p "$CDS_DIR"
        cds=("$(class_archive "$name")" "-Xlog:cds*=off")
    fi
    # One HEALTH_PORT for all three would be bound twice, and a SHUTDOWN_DELAY_MS near STOP_SECONDS
    # gets a service killed mid-drain: both are for an orchestrator, set per service.
    # shellcheck disable=SC2086 # JAVA_OPTS is a list of options
    launch "$name" "" env -u HEALTH_PORT -u SHUTDOWN_DELAY_MS PORT="$port" "$@" java "@$ROOT/ops/jvm/services.options" "${own[@]}" "${cds[@]}" ${JAVA_OPTS:-} \
        -jar "$ROOT/$name/target/$name.jar"
    SERVICE_PIDS+=("$LAUNCHED_PID")
    SERVICE_NAMES+=("$name")
}

say "starting ${SERVICES[*]}"
start_service order-service "$ORDER_PORT"
start_service consumer "$CONSUMER_PORT" SOURCE="$SINK"
start_service outbox-relay "$RELAY_PORT" CONSUMER_URL="http://localhost:$CONSUMER_PORT/messages" SINK="$SINK"
SERVICE_PORTS=("$ORDER_PORT" "$CONSUMER_PORT" "$RELAY_PORT")

# Stops everything (through the EXIT trap) when a service has exited.
check_services() {
    local i status
    for i in "${!SERVICE_PIDS[@]}"; do
        if ! alive "${SERVICE_PIDS[$i]}"; then
            status=0
            wait "${SERVICE_PIDS[$i]}" || status=$?
            fail "${SERVICE_NAMES[$i]} exited with status $status $1 (see its lines above); stopping the rest"
        fi
    done
    if [[ -n $KAFKA_PID ]] && ! alive "$KAFKA_PID"; then
        KAFKA_PID=""
        fail "dev-kafka exited $1 (see its lines above); stopping the rest"
    fi
    if [[ -n $PG_PID ]] && ! alive "$PG_PID"; then
        PG_PID=""
        fail "dev-postgres exited $1 (see its lines above); stopping the rest"
    fi
}

deadline=$((SECONDS + SERVICE_START_SECONDS))
for i in "${!SERVICE_PIDS[@]}"; do
    until [[ -n $(http_status "${SERVICE_PORTS[$i]}" /health) ]]; do
        check_services "during start"
        ((SECONDS < deadline)) || fail "${SERVICE_NAMES[$i]} did not answer on port ${SERVICE_PORTS[$i]} within ${SERVICE_START_SECONDS}s"
        sleep 0.3
    done
    if [[ -d $CDS_DIR ]]; then : >"$CDS_DIR/${SERVICE_NAMES[$i]}.ready"; fi # its class archive may be kept
done

# replay-cli's defaults are the standard ports; say so when these differ.
REPLAY_ENV=""
if [[ $CONSUMER_PORT != 8081 ]]; then REPLAY_ENV+="CONSUMER_URL=http://localhost:$CONSUMER_PORT/messages "; fi
if [[ -n $PG_PID && $PG_PORT != 5433 ]]; then REPLAY_ENV+="DB_URL=$DB_URL "; fi
if [[ -z $PG_PID ]]; then # the database given: replay-cli needs it too (a password never printed)
    if [[ $DB_URL =~ password=|//[^/@]*:[^/@]*@ ]]; then
        REPLAY_ENV+="DB_URL='$(shown_url "$DB_URL")' (with its password) "
    else
        REPLAY_ENV+="DB_URL='$DB_URL' "
    fi
    if [[ -n ${DB_USER:-} ]]; then REPLAY_ENV+="DB_USER=$DB_USER "; fi
fi
if [[ $SINK != http ]]; then REPLAY_ENV+="SINK=$SINK "; fi
# The services read the outbox's names from the environment they inherit; replay-cli takes them as options
# (it reads no processed-messages table). A blank value is unset for the services, so it is left out here too.
REPLAY_OPTS=""
for option in "OUTBOX_SCHEMA --schema" "OUTBOX_TABLE --outbox-table" "OUTBOX_CHANNEL --channel"; do
    read -r variable flag <<<"$option"
    value=${!variable:-}
    value=${value//[[:space:]]/}
    if [[ -n $value ]]; then REPLAY_OPTS+=" $flag $value"; fi
done
if [[ -n $KAFKA_PID && $KAFKA_PORT != 9092 ]]; then REPLAY_ENV+="KAFKA_BOOTSTRAP_SERVERS=$KAFKA_BOOTSTRAP_SERVERS "; fi
BROKER_HINT=""
if [[ $SINK != http ]]; then
    BROKER_HINT="[run.sh] Watch the broker's own view of the messages: see README, \"Through a broker\".
"
fi
case "$SINK" in
    http) SINK_LINE="http: the relay POSTs to the consumer" ;;
    *) SINK_LINE="$SINK at $BROKER_AT$BROKER_NOTE: relay SINK=$SINK, consumer SOURCE=$SINK" ;;
esac

cat <<EOF
[run.sh] ------------------------------------------------------------------------------
[run.sh] outboxkit is running:
[run.sh]   order-service  http://localhost:$ORDER_PORT     (health: $(http_status "$ORDER_PORT" /health))
[run.sh]   consumer       http://localhost:$CONSUMER_PORT     (health: $(http_status "$CONSUMER_PORT" /health))
[run.sh]   outbox-relay   http://localhost:$RELAY_PORT     (health: $(http_status "$RELAY_PORT" /health))
[run.sh]   console        http://localhost:$RELAY_PORT/    open it in a browser: the outbox, its DEAD messages, requeue
[run.sh]   PostgreSQL     $(shown_url "$DB_URL")${PG_PID:+ (embedded, data in .data/postgres)}
[run.sh]   messages via   $SINK_LINE
[run.sh]
[run.sh] Create an order (it and its OrderCreated event commit in one transaction):
[run.sh]   curl -s -X POST http://localhost:$ORDER_PORT/orders -H 'Content-Type: application/json' \\
[run.sh]        -d '{"user_id": "550e8400-e29b-41d4-a716-446655440000", "amount": 100.0}'
[run.sh] Then watch the [outbox-relay] and [consumer] lines below, and look around:
[run.sh]   curl -s http://localhost:$ORDER_PORT/health
[run.sh]   ${REPLAY_ENV}java -jar replay-cli/target/replay-cli.jar list --status published${REPLAY_OPTS}
[run.sh]   ${REPLAY_ENV}java -jar replay-cli/target/replay-cli.jar duplicate${REPLAY_OPTS}   (the consumer skips a redelivery)
${BROKER_HINT}[run.sh] Ctrl-C stops everything${PG_PID:+; the data stays in .data/postgres for the next run}.
[run.sh] ------------------------------------------------------------------------------
EOF

while true; do
    check_services "unexpectedly"
    sleep 1 &
    wait $! || true # a wait the INT/TERM trap interrupts at once
done
