package io.outboxkit.bench;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalDouble;
import org.HdrHistogram.Histogram;

/**
 * Phases "kafka", "rabbitmq" and "nats" (issue 16): the relay alone publishing a backlog to the
 * broker, each message confirmed, against the broker's own producer at the same message size and
 * confirmation; the drain end to end through it (relay → broker → consumer's transaction), every
 * message applied once; and for Kafka the latency commit → effect at 500 orders/s.
 */
final class BrokerPhase {

    private final BenchMain bench;
    private final BenchBroker broker;

    private BrokerPhase(BenchMain bench, BenchBroker broker) {
        this.bench = bench;
        this.broker = broker;
    }

    /** Starts or connects to the broker {@code name}, measures, and removes what the bench created on it. */
    static void run(BenchMain bench, String name) throws Exception {
        try (BenchBroker broker = switch (name) {
            case "kafka" -> KafkaBenchBroker.start(bench.snapshot("dev-kafka"), bench.target, bench.jfr());
            case "rabbitmq" -> RabbitMqBenchBroker.connect();
            case "nats" -> NatsBenchBroker.start(bench.target);
            default -> throw new IllegalArgumentException("no broker phase " + name);
        }) {
            new BrokerPhase(bench, broker).measure();
        }
    }

    private void measure() throws Exception {
        Report report = bench.report;
        String name = broker.name();
        int size = payloadSize();
        report.detail("## 5. Through " + name + ": a backlog of " + String.format("%,d", BenchMain.BACKLOG)
                + " messages of " + size + " bytes (the payload; the relay adds its headers)");
        report.detail("");
        // The broker's first records (creating the topic or queue, its JIT) would be measured as its ceiling.
        report.detail("- warm-up of the broker, not a figure: " + broker.ceilingName() + ", "
                + BenchMain.tps(broker.ceiling(BenchMain.BACKLOG, size)) + " msg/s");
        double before = broker.ceiling(BenchMain.BACKLOG, size);
        report.detail("- " + broker.ceilingName() + ", " + String.format("%,d", BenchMain.BACKLOG) + " records of "
                + size + " bytes: " + BenchMain.tps(before) + " msg/s");
        BrokerCpu cpu = BrokerCpu.start(broker);
        double alone = bench.drainOnce("relay alone → " + name + ", each message confirmed, 1 relay", 1, null, "batch",
                broker.aloneEnv(), null);
        cpu.report(report, "the relay alone");
        double after = broker.ceiling(BenchMain.BACKLOG, size);
        report.detail("- " + broker.ceilingName() + ", again, right after: " + BenchMain.tps(after) + " msg/s");
        double ceiling = (before + after) / 2;
        broker.clearAlone();
        report.figure("relay alone → " + name + " (confirmed), 1 relay, " + bench.relayWorkers() + " workers",
                BenchMain.tps(alone) + " msg/s", broker.ceilingName() + ": " + BenchMain.tps(ceiling) + " msg/s",
                BenchMain.ratio(alone / ceiling), "≥ 0.50", alone / ceiling >= 0.5);

        Map<String, String> env = broker.env();
        try (Service consumer = Service.start("consumer-" + name, bench.jar("consumer"), bench.db, env, bench.logs(),
                bench.jfr())) {
            bench.warmUp(consumer, env);
            BrokerCpu drainCpu = BrokerCpu.start(broker);
            double rate = bench.drainOnce("end to end (relay → " + name + " → consumer's transaction), 1 relay", 1, null,
                    "batch", env, consumer);
            drainCpu.report(report, "the drain end to end");
            // Issue 16 sets the end-to-end target through Kafka; the others are measured for comparison.
            boolean kafka = "kafka".equals(name);
            report.figure("drain end to end through " + name + ", 1 relay", BenchMain.tps(rate) + " msg/s", "", "",
                    kafka ? "≥ 10,000 msg/s" : "", kafka ? rate >= 10_000 : null);
            if ("kafka".equals(name)) {
                latency(consumer);
            }
        }
        report.detail("");
    }

    /** Commit → the consumer's effect at 500 orders/s through the broker (the latency phase's probe). */
    private void latency(Service consumer) throws Exception {
        BenchDb db = bench.db;
        db.reset();
        Map<String, String> relayEnv = bench.relayEnv(null, "batch", "relay-latency");
        relayEnv.putAll(broker.env());
        try (Service relay = Service.start("outbox-relay-" + broker.name() + "-latency", bench.jar("outbox-relay"), db,
                relayEnv, bench.logs(), bench.jfr());
             Service orders = Service.start("order-service", bench.jar("order-service"), db,
                     Map.of("DB_POOL_SIZE", Integer.toString(BenchMain.CLIENTS)), bench.logs(), bench.jfr());
             OrderLoad load = new OrderLoad(orders.url("/orders"), BenchMain.USERS);
             LatencyProbe probe = LatencyProbe.start(db)) {
            load.closedLoop(BenchMain.CLIENTS, Duration.ofSeconds(bench.quick ? 15 : 30), Duration.ofSeconds(1)); // JIT
            bench.awaitQuiet(Duration.ofMinutes(1));
            BrokerCpu cpu = BrokerCpu.start(broker);
            Histogram h = bench.latencyAt(probe, load, 500, "500 orders/s through " + broker.name(),
                    List.of(consumer, relay, orders));
            cpu.report(bench.report, "the latency run (its warm-up at the same rate included)");
            bench.report.figure("latency commit → effect through " + broker.name() + " at 500 orders/s: p50 / p99 / max",
                    BenchMain.p50p99max(h), "", "", "p50 ≤ 5 ms, p99 ≤ 25 ms",
                    h.getValueAtPercentile(50) <= 5_000 && h.getValueAtPercentile(99) <= 25_000);
        }
    }

    /** The broker process's CPU over a span of the phase, which the services' CPU figures leave out. */
    private record BrokerCpu(BenchBroker broker, OptionalDouble from, long fromNanos) {

        static BrokerCpu start(BenchBroker broker) {
            return new BrokerCpu(broker, broker.cpuSeconds(), System.nanoTime());
        }

        void report(Report report, String during) {
            OptionalDouble to = broker.cpuSeconds();
            if (from.isPresent() && to.isPresent()) {
                double seconds = (System.nanoTime() - fromNanos) / 1e9;
                report.detail(String.format(Locale.ROOT, "  - the broker's own process (%s) during %s: %.2f cores",
                        broker.name(), during, (to.getAsDouble() - from.getAsDouble()) / seconds));
            }
        }
    }

    /** The payload's size in bytes of the backlog's messages, as the relay sends it. */
    private int payloadSize() throws Exception {
        BenchDb db = bench.db;
        db.reset();
        db.writeBacklog(1_000, BenchMain.USERS);
        long size = db.queryLong("SELECT round(avg(octet_length(payload::text))) FROM outbox");
        db.reset();
        return (int) size;
    }
}
