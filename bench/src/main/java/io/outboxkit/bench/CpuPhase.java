package io.outboxkit.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Phase "cpu" (issue 20, targets 2 and 3): what the relay and PostgreSQL spend with nothing to
 * deliver, and, at the whole system's maximum, each process's CPU per order written and per
 * message delivered, with that maximum as a ratio of the bare write transaction's ceiling.
 */
final class CpuPhase {

    private final BenchMain bench;

    CpuPhase(BenchMain bench) {
        this.bench = bench;
    }

    void run() throws Exception {
        BenchDb db = bench.db;
        Report report = bench.report;
        int idleSeconds = bench.quick ? 15 : 30;
        int maxSeconds = bench.quick ? 8 : 15;
        report.detail("## CPU: idle, and per order and per message at the whole system's maximum");
        report.detail("");
        db.reset();
        Pgbench.Result bare = bench.withoutNotifyTrigger(
                () -> bench.pgbench.forSeconds("order_outbox_bare.sql", BenchMain.CLIENTS, maxSeconds));
        report.detail("- ceiling, before any service starts: pgbench order_outbox_bare.sql (NOTIFY trigger disabled), "
                + BenchMain.CLIENTS + " clients, " + maxSeconds + " s: " + BenchMain.tps(bare.tps()) + " tx/s");
        db.reset();
        try (Service consumer = Service.start("consumer", bench.jar("consumer"), db, Map.of(), bench.logs(), bench.jfr());
             Service relay = Service.start("outbox-relay", bench.jar("outbox-relay"), db,
                     bench.relayEnv(consumer.url("/messages"), "batch", "relay-0"), bench.logs(), bench.jfr());
             Service orders = Service.start("order-service", bench.jar("order-service"), db,
                     Map.of("DB_POOL_SIZE", Integer.toString(BenchMain.CLIENTS)), bench.logs(), bench.jfr());
             OrderLoad load = new OrderLoad(orders.url("/orders"), BenchMain.USERS)) {
            List<Service> all = List.of(consumer, relay, orders);
            // wrk when installed, as the write phase: a C client leaves the services the share of the two
            // cores that pgbench's C client leaves PostgreSQL in the ceiling.
            // The whole path at full speed first, with the maximum's own client, until the JIT has compiled it; then idle.
            WrkLoad wrk = WrkLoad.find(bench.root.resolve("bench/wrk/post_order.lua"));
            String warmUp = JitWarmUp.run(round -> WrkLoad.closedLoop(wrk, load, orders.url("/orders"), Duration.ZERO, round),
                    all.stream().map(Service::pid).toList(), Duration.ofSeconds(bench.quick ? 15 : 30),
                    Duration.ofSeconds(bench.quick ? 60 : 120));
            report.detail("- warm-up at full load, not a figure: " + warmUp);
            bench.awaitQuiet(Duration.ofSeconds(60));
            // The JIT's compile queue and the last batches' after-work drain away in a few seconds:
            // idle means after them.
            Thread.sleep(5_000);
            idle(all, idleSeconds);
            maximum(all, wrk, load, orders.url("/orders"), maxSeconds, bare.tps());
        }
        report.detail("");
    }

    private void idle(List<Service> all, int seconds) throws Exception {
        BenchDb db = bench.db;
        List<Long> backends = db.backendPids();
        long pending = db.queryLong("SELECT count(*) FROM outbox WHERE status = 'PENDING'");
        CpuMeter.Sample from = CpuMeter.sample(all, backends);
        Thread.sleep(seconds * 1000L); // the measurement: CPU spent while nothing happens
        Map<String, Double> cores = CpuMeter.cores(from, CpuMeter.sample(all, backends));
        double relay = cores.getOrDefault("outbox-relay", Double.NaN);
        double database = cores.getOrDefault(CpuMeter.BENCH_DB_BACKENDS, Double.NaN);
        bench.report.detail("- idle for " + seconds + " s, nothing to deliver (" + pending + " pending), in % of a core: "
                + percents(cores) + "; \"" + CpuMeter.BENCH_DB_BACKENDS + "\" are the " + backends.size()
                + " backends of the bench database (the relay's, and the idle services'), \"postgres\" every "
                + "PostgreSQL process of the server, other databases' included");
        bench.report.figure("idle: relay + its database's backends, nothing to deliver, " + seconds + " s",
                percent(relay + database) + " of a core (relay " + percent(relay) + ", backends " + percent(database)
                        + "; all of PostgreSQL " + percent(cores.getOrDefault("postgres", Double.NaN)) + ")",
                "", "", "< 2% of a core", relay + database < 0.02);
    }

    private void maximum(List<Service> all, WrkLoad wrk, OrderLoad load, String ordersUrl, int seconds, double ceiling)
            throws Exception {
        BenchDb db = bench.db;
        Set<Long> backends = new LinkedHashSet<>(db.backendPids());
        long pendingBefore = db.queryLong("SELECT count(*) FROM outbox WHERE status = 'PENDING'");
        long processedBefore = db.queryLong("SELECT count(*) FROM processed_messages");
        CpuMeter.Sample from = CpuMeter.sample(all, new ArrayList<>(backends));
        OrderLoad.Result max = WrkLoad.closedLoop(wrk, load, ordersUrl, Duration.ZERO, Duration.ofSeconds(seconds));
        backends.addAll(db.backendPids()); // a backend that started meanwhile counts from 0, as it should
        CpuMeter.Sample to = CpuMeter.sample(all, new ArrayList<>(backends));
        long pendingAfter = db.queryLong("SELECT count(*) FROM outbox WHERE status = 'PENDING'");
        long delivered = db.queryLong("SELECT count(*) FROM processed_messages") - processedBefore;
        double inStep = (max.created() - Math.max(0, pendingAfter - pendingBefore)) / max.seconds();
        Map<String, Double> spent = CpuMeter.spent(from, to);
        String perOrder = "order-service " + micros(spent, "order-service", max.created()) + ", "
                + CpuMeter.BENCH_DB_BACKENDS + " " + micros(spent, CpuMeter.BENCH_DB_BACKENDS, max.created())
                + ", all of PostgreSQL " + micros(spent, "postgres", max.created());
        String perMessage = "relay " + micros(spent, "outbox-relay", delivered) + ", consumer "
                + micros(spent, "consumer", delivered);
        bench.report.detail("- the whole system's maximum (" + BenchMain.CLIENTS + " clients POST /orders, relay and "
                + "consumer running; " + (wrk != null ? "wrk" : "the bench's own client") + ") for " + seconds + " s: "
                + BenchMain.tps(max.perSecond()) + " orders/s written ("
                + max.failed() + " failed), " + BenchMain.tps(inStep) + "/s of them delivered in step, "
                + BenchMain.tps(delivered / max.seconds()) + " messages/s applied by the consumer; CPU per order: "
                + perOrder + "; per message applied: " + perMessage + "; CPU in cores: "
                + CpuMeter.describe(CpuMeter.cores(from, to)));
        bench.report.figure("whole system's maximum (POST /orders at 16 clients, relay and consumer running, delivered in step)",
                BenchMain.tps(inStep) + " orders/s", "order_outbox_bare.sql: " + BenchMain.tps(ceiling) + " tx/s",
                BenchMain.ratio(inStep / ceiling), "≥ 0.35", inStep / ceiling >= 0.35);
        bench.report.figure("CPU per order / per message at the whole system's maximum",
                "per order: " + perOrder + "; per message: " + perMessage, "", "", "", null);
    }

    /** CPU microseconds of {@code part} per item. */
    private static String micros(Map<String, Double> spent, String part, long items) {
        Double seconds = spent.get(part);
        return seconds == null || items == 0 ? "n/a"
                : String.format(Locale.ROOT, "%,.0f µs", seconds * 1e6 / items);
    }

    private static String percents(Map<String, Double> cores) {
        StringBuilder text = new StringBuilder();
        cores.forEach((part, share) -> text.append(text.length() == 0 ? "" : ", ").append(part).append(' ')
                .append(percent(share)));
        return text.toString();
    }

    private static String percent(double cores) {
        return String.format(Locale.ROOT, "%.2f%%", cores * 100);
    }
}
