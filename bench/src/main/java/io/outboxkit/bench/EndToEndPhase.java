package io.outboxkit.bench;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Phases "e2e" and "cold" (issue 20, target 4): the drain end to end against pgbench's ceiling for
 * the whole path's SQL ({@code drain_e2e.sql}: the relay's claim and mark and the consumer's
 * transaction for each batch), with warmed-up services, and cold: a backlog for as many customers
 * as messages, the consumer and the relay started only when the clock starts.
 */
final class EndToEndPhase {

    /** JVM options for a third cold drain, after the figure's, to compare with it (e.g. a JIT setting). */
    static final String COMPARE = "BENCH_COLD_COMPARE";

    private final BenchMain bench;

    EndToEndPhase(BenchMain bench) {
        this.bench = bench;
    }

    /** Phase "e2e": one relay and a consumer, both warmed up, against drain_e2e.sql before and after. */
    void warm() throws Exception {
        Report report = bench.report;
        report.detail("## 2b. Drain end to end against its own ceiling: claim + the consumer's transaction + mark");
        report.detail("");
        int workers = bench.relayWorkers();
        int batch = bench.relayBatch();
        List<Double> ceilings = new ArrayList<>();
        for (int round = 0; round < 2; round++) {
            ceilings.add(ceiling(workers, batch, BenchMain.USERS, ""));
        }
        double rate;
        try (Service consumer = Service.start("consumer", bench.jar("consumer"), bench.db, Map.of(), bench.logs(),
                bench.jfr())) {
            bench.warmUp(consumer);
            rate = bench.drainOnce("end to end (relay → HTTP → consumer's transaction), 1 relay, warmed up", 1,
                    consumer.url("/messages"), "batch", Map.of(), consumer);
        }
        ceilings.add(ceiling(workers, batch, BenchMain.USERS, ", again, right after"));
        double ceiling = BenchMain.median(ceilings);
        // With a relay's few clients, each waits for its consumer commit's WAL flush: for scale, what
        // more clients sharing those flushes reach.
        int more = 4 * workers;
        bench.ceiling("drain_e2e.sql", "for scale only: " + more + " clients instead of " + workers, more, batch);
        report.detail("");
        report.figure("drain end to end, 1 relay, warmed up, against the whole path's SQL", BenchMain.tps(rate) + " msg/s",
                "drain_e2e.sql: " + BenchMain.tps(ceiling) + " rows/s", BenchMain.ratio(rate / ceiling), "≥ 0.60",
                rate / ceiling >= 0.6);
    }

    /**
     * Phase "cold": what a relay restarted after an outage meets. The backlog is written first,
     * one customer per message; the clock starts as the consumer's JVM is launched, then the
     * relay's, and stops when no message is pending. Twice: the services' first start ever (no
     * class archive yet; each writes one when it stops, as under run.sh), then a restart, with the
     * archives the first start wrote. The restart is the figure.
     */
    void cold() throws Exception {
        Report report = bench.report;
        int customers = BenchMain.BACKLOG;
        report.detail("## 2c. Cold drain: " + String.format("%,d", BenchMain.BACKLOG) + " messages for as many "
                + "customers, consumer and relay started when the clock starts");
        report.detail("");
        double ceiling = ceiling(bench.relayWorkers(), bench.relayBatch(), customers, "");
        Path consumerJar = bench.jar("consumer");
        Path relayJar = bench.jar("outbox-relay");
        Path archives = bench.logs().resolveSibling("cds");
        String first = bench.jfr() != null ? "first start (profiled: without class archives, see Service)"
                : Service.hasArchive(consumerJar, archives) && Service.hasArchive(relayJar, archives)
                ? "first start of this phase (with the class archives an earlier start of these jars wrote)"
                : "first start (no class archive yet: each JVM writes its own as it stops)";
        coldDrain(first, consumerJar, relayJar, customers, List.of());
        double rate = coldDrain(bench.jfr() != null ? "restart (profiled: without class archives, see Service)"
                : "restart (each JVM with the class archive its first start wrote)", consumerJar, relayJar, customers, List.of());
        String compared = System.getenv(COMPARE);
        if (compared != null && !compared.isBlank()) {
            List<String> options = List.of(compared.trim().split("\\s+"));
            coldDrain("restart with " + String.join(" ", options) + " (" + COMPARE + ", not the figure)", consumerJar,
                    relayJar, customers, options);
        }
        report.detail("");
        report.figure("drain end to end, cold: " + String.format("%,d", BenchMain.BACKLOG) + " messages for as many "
                        + "customers, consumer and relay JVMs (re)started at the clock's start",
                BenchMain.tps(rate) + " msg/s", "drain_e2e.sql, as many customers: " + BenchMain.tps(ceiling) + " rows/s",
                BenchMain.ratio(rate / ceiling), "≥ 12,000 msg/s", rate >= 12_000);
    }

    /** One cold drain of a fresh backlog; reports where its time went and returns its rate. */
    private double coldDrain(String what, Path consumerJar, Path relayJar, int customers, List<String> options)
            throws Exception {
        Report report = bench.report;
        BenchDb db = bench.db;
        db.reset();
        db.writeBacklog(BenchMain.BACKLOG, customers);
        db.execute("CHECKPOINT");
        List<Service> running = new ArrayList<>();
        CpuMeter.Sample from = CpuMeter.sample(running);
        long startedAtMillis = db.queryLong("SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint");
        long start = System.nanoTime();
        try {
            Service consumer = Service.start("consumer-cold", consumerJar, db, Map.of(), bench.logs(), bench.jfr(), options);
            running.add(consumer);
            double consumerUp = (System.nanoTime() - start) / 1e9;
            running.add(Service.start("outbox-relay-cold", relayJar, db,
                    bench.relayEnv(consumer.url("/messages"), "batch", "relay-cold"), bench.logs(), bench.jfr(), options));
            double relayUp = (System.nanoTime() - start) / 1e9;
            double seconds = bench.awaitDrained(start, Duration.ofMinutes(5));
            double rate = BenchMain.BACKLOG / seconds;
            report.detail("- cold drain, " + what + ": " + BenchMain.tps(rate) + " msg/s (" + String.format("%.1f", seconds)
                    + " s from launching the consumer's JVM; it answered its health check after "
                    + String.format("%.1f", consumerUp) + " s, the relay's after " + String.format("%.1f", relayUp)
                    + " s); " + progress(startedAtMillis) + "; CPU in cores: "
                    + CpuMeter.describe(CpuMeter.cores(from, CpuMeter.sample(running))));
            bench.requireAllPublished("cold drain");
            bench.requireExactlyOnce("cold drain");
            return rate;
        } finally {
            for (Service service : running) {
                service.close();
            }
        }
    }

    /**
     * When the drain delivered its first message and each further fifth of the backlog, in seconds
     * from the clock's start, and the rate over each fifth: start-up against the pace as the JIT warms.
     */
    private String progress(long startedAtMillis) throws Exception {
        BenchDb db = bench.db;
        StringBuilder line = new StringBuilder("first delivery after ");
        double previous = seconds(db, startedAtMillis, "min(published_at)");
        line.append(String.format("%.1f s, then msg/s per fifth of the backlog:", previous));
        for (int fifth = 1; fifth <= 5; fifth++) {
            double at = seconds(db, startedAtMillis, "percentile_disc(" + fifth / 5.0 + ") WITHIN GROUP (ORDER BY published_at)");
            line.append(' ').append(BenchMain.tps(BenchMain.BACKLOG / 5.0 / Math.max(at - previous, 1e-3)));
            previous = at;
        }
        return line.toString();
    }

    private static double seconds(BenchDb db, long startedAtMillis, String aggregate) throws Exception {
        return (db.queryLong("SELECT (extract(epoch FROM " + aggregate + ") * 1000)::bigint FROM outbox")
                - startedAtMillis) / 1000.0;
    }

    /** drain_e2e.sql on a fresh backlog; checks that it applied every message once, as the consumer would. */
    private double ceiling(int workers, int batch, int customers, String when) throws Exception {
        double rows = bench.ceiling("drain_e2e.sql", "claim " + batch + ", the consumer's transaction for them, mark "
                + "published" + when, workers, batch, customers);
        bench.requireExactlyOnce("pgbench drain_e2e.sql");
        return rows;
    }
}
