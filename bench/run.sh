#!/usr/bin/env bash
# bench/run.sh: the outboxkit benchmarks, each figure against pgbench's ceiling for the same SQL,
# measured in the same run on the same PostgreSQL. Writes bench/target/report.md (and prints it).
#
#   bash bench/run.sh            the full run: every phase but scale
#   bash bench/run.sh --quick    shorter phases: same figures, wider error
#   bash bench/run.sh --profile  also records a JFR profile of each service (bench/target/jfr/)
#   bash bench/run.sh --phases write,drain,latency,health   only these phases (default: all but scale;
#        the others: bare, e2e, cold, cpu, peer, obs, console, scale; BENCHMARKS.md says what each measures)
#   bash bench/run.sh --phases kafka,rabbitmq,nats   through the brokers (not in the default run): kafka
#        starts dev-kafka itself, rabbitmq uses RABBITMQ_URI (localhost:5672 guest/guest), nats starts
#        NATS_SERVER (/usr/sbin/nats-server) itself
#   bash bench/run.sh --phases alone   of the drain phase, only the relay alone and its ceilings
#   bash bench/run.sh --relay-env CLAIM_MODE=lock,WORKERS=4   settings for every relay it starts (they win)
#
# Environment: BENCH_PG_HOST (127.0.0.1), BENCH_PG_PORT (5432), BENCH_PG_USER (postgres; needs
# CREATEDB and trust or PGPASSWORD), BENCH_DB (outbox_bench: DROPPED and recreated by every run),
# PGBENCH (pgbench on PATH, else /usr/bin/pgbench), BENCH_SKIP_BUILD=1 to use the jars as built.
# The services start with ops/jvm/services.options and their class archives (bench/target/cds, as
# run.sh's .data/cds); BENCH_SERVICE_JAVA_OPTS adds JVM options to every service, BENCH_COLD_COMPARE
# to a third drain of the cold phase only.
# POST /orders is driven by wrk, a C client that leaves the service more of the machine (as
# pgbench's C client does on its side): installed from Debian's packages when missing and this
# runs as root with apt-get (BENCH_NO_INSTALL=1 to skip); without it, by the bench's own JVM client.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
    echo "bench: building the service jars and the bench (mvn package, tests skipped)"
    mvn -B -q package -DskipTests -pl order-service,consumer,outbox-relay,dev-kafka,bench -am
fi
for jar in order-service/target/order-service.jar consumer/target/consumer.jar \
           outbox-relay/target/outbox-relay.jar bench/target/bench.jar; do
    [[ -f $jar ]] || { echo "bench: $jar is missing (run without BENCH_SKIP_BUILD)" >&2; exit 1; }
done
if ! command -v wrk >/dev/null && [[ "${BENCH_NO_INSTALL:-0}" != 1 && $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "bench: installing wrk (apt-get install wrk), the load generator of POST /orders"
    apt-get install -y -q wrk >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q wrk >/dev/null 2>&1; } \
        || echo "bench: wrk could not be installed: POST /orders is driven by the bench's JVM client (figures not comparable)" >&2
fi
PGBENCH="${PGBENCH:-$(command -v pgbench || echo /usr/bin/pgbench)}"
[[ -x $PGBENCH ]] || { echo "bench: pgbench not found (set PGBENCH)" >&2; exit 1; }

# Two threads in the common pool: with one (2 CPUs), CompletableFuture starts a thread per async step.
exec java -Xmx1g -Djava.util.concurrent.ForkJoinPool.common.parallelism=2 -jar bench/target/bench.jar --root "$ROOT" --pgbench "$PGBENCH" "$@"
