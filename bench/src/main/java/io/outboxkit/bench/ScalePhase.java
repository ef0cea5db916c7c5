package io.outboxkit.bench;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Phase "scale" (issue 20, target 5), not in the default run: the claim's time per batch
 * (pgbench's claim_mark.sql) and one relay's drain into the bench's sink, on a table holding only
 * the backlog, on a large backlog, and on a backlog beside many published rows kept by retention.
 * Full sizes: 1,000,000 pending and 10,000,000 published; {@code --quick}: 200,000 and 1,000,000.
 */
final class ScalePhase {

    private final BenchMain bench;

    ScalePhase(BenchMain bench) {
        this.bench = bench;
    }

    void run() throws Exception {
        BenchDb db = bench.db;
        Report report = bench.report;
        int pending = bench.quick ? 200_000 : 1_000_000;
        long published = bench.quick ? 1_000_000 : 10_000_000;
        int workers = bench.relayWorkers();
        int batch = bench.relayBatch();
        int batches = BenchMain.BACKLOG / batch;
        report.detail("## 8. Scale: the claim and the drain as the outbox grows");
        report.detail("");
        report.detail("Claim: pgbench claim_mark.sql, " + workers + " clients, " + String.format("%,d", batches)
                + " batches of " + batch + " (claim + mark, per batch). Drain: one relay into the bench's sink, "
                + "warmed up first, timed from the backlog's commit.");
        report.detail("The empty table's figures are measured first and last, and their mean is the baseline: the "
                + "machine's speed drifts between the first measurement and the last.");
        report.detail("");

        Pgbench.Result emptyClaimFirst = emptyClaim(workers, batches, batch);
        db.reset();
        db.writeBacklog(pending, BenchMain.USERS);
        Pgbench.Result pendingClaim = claim(workers, batches, batch);
        db.reset();
        db.writePublished(published, BenchMain.USERS);
        db.writeBacklog(BenchMain.BACKLOG, BenchMain.USERS);
        Pgbench.Result publishedClaim = claim(workers, batches, batch);
        Pgbench.Result emptyClaimLast = emptyClaim(workers, batches, batch);
        Pgbench.Result emptyClaim = new Pgbench.Result((emptyClaimFirst.tps() + emptyClaimLast.tps()) / 2,
                (emptyClaimFirst.latencyMs() + emptyClaimLast.latencyMs()) / 2, "");

        double emptyDrain;
        double pendingDrain;
        double publishedDrain;
        try (Sink sink = new Sink();
             Service relay = Service.start("outbox-relay-scale", bench.jar("outbox-relay"), db,
                     bench.relayEnv(sink.url(), "batch", "relay-scale"), bench.logs(), bench.jfr())) {
            List<Service> running = List.of(relay);
            db.reset();
            drain("warm-up, not a figure", BenchMain.BACKLOG, running); // warm-up: the JIT compiles the relay's paths
            db.reset();
            double emptyDrainFirst = drain("empty table, first", BenchMain.BACKLOG, running);
            db.reset();
            pendingDrain = drain("all pending", pending, running);
            db.reset();
            db.writePublished(published, BenchMain.USERS);
            publishedDrain = drain("beside the published rows", BenchMain.BACKLOG, running);
            db.reset();
            emptyDrain = (emptyDrainFirst + drain("empty table, last", BenchMain.BACKLOG, running)) / 2;
        }
        report.detail("");
        report.detail("| outbox before the measured backlog | claim + mark per batch | claim_mark.sql rows/s | relay alone's drain | drained |");
        report.detail("|---|---:|---:|---:|---:|");
        row("empty: only the " + String.format("%,d", BenchMain.BACKLOG) + " pending (mean of first and last)", emptyClaim,
                batch, emptyDrain, BenchMain.BACKLOG);
        row(String.format("%,d", pending) + " pending (the claim's first " + String.format("%,d", BenchMain.BACKLOG)
                + "; the drain all)", pendingClaim, batch, pendingDrain, pending);
        row(String.format("%,d", published) + " published + " + String.format("%,d", BenchMain.BACKLOG) + " pending",
                publishedClaim, batch, publishedDrain, BenchMain.BACKLOG);
        report.detail("");
        String emptyText = String.format(Locale.ROOT, "%.2f ms per batch, %s msg/s", emptyClaim.latencyMs(),
                BenchMain.tps(emptyDrain));
        figure(String.format("%,d", pending) + " pending", pendingClaim, pendingDrain, emptyClaim, emptyDrain, emptyText);
        figure(String.format("%,d", published) + " published", publishedClaim, publishedDrain, emptyClaim, emptyDrain,
                emptyText);
        db.reset();
    }

    private Pgbench.Result emptyClaim(int workers, int batches, int batch) throws Exception {
        bench.db.reset();
        bench.db.writeBacklog(BenchMain.BACKLOG, BenchMain.USERS);
        Pgbench.Result claim = claim(workers, batches, batch);
        bench.report.detail("- claim + mark on the empty table: " + String.format(Locale.ROOT, "%.2f ms", claim.latencyMs())
                + " per batch");
        return claim;
    }

    private Pgbench.Result claim(int workers, int batches, int batch) throws Exception {
        return bench.pgbench.forTransactions("claim_mark.sql", workers, batches, "batch=" + batch);
    }

    /** Commits {@code count} pending messages at once and times the relay until none is pending. */
    private double drain(String what, int count, List<Service> running) throws Exception {
        CpuMeter.Sample from = CpuMeter.sample(running);
        long start = bench.db.writeBacklog(count, BenchMain.USERS);
        double seconds = bench.awaitDrained(start, Duration.ofMinutes(count > BenchMain.BACKLOG ? 15 : 5));
        bench.report.detail("- drain, " + what + ": " + String.format("%,d", count) + " in " + String.format("%.1f", seconds)
                + " s; CPU in cores: " + CpuMeter.describe(CpuMeter.cores(from, CpuMeter.sample(running))));
        return count / seconds;
    }

    private void row(String what, Pgbench.Result claim, int batch, double drain, int drained) {
        bench.report.detail("| " + what + " | " + String.format(Locale.ROOT, "%.2f ms", claim.latencyMs()) + " | "
                + BenchMain.tps(claim.tps() * batch) + " | " + BenchMain.tps(drain) + " msg/s | "
                + String.format("%,d", drained) + " |");
    }

    /** Within 20% of the empty table's: the claim's time per batch at most 1.2 times, the drain at least 0.8. */
    private void figure(String what, Pgbench.Result claim, double drain, Pgbench.Result emptyClaim, double emptyDrain,
                        String emptyText) {
        double claimRatio = claim.latencyMs() / emptyClaim.latencyMs();
        double drainRatio = drain / emptyDrain;
        bench.report.figure("scale: claim + mark per batch and relay alone's drain with " + what,
                String.format(Locale.ROOT, "%.2f ms per batch, %s msg/s", claim.latencyMs(), BenchMain.tps(drain)),
                "empty table: " + emptyText,
                "claim " + String.format(Locale.ROOT, "%.2f×", claimRatio) + ", drain " + BenchMain.ratio(drainRatio),
                "claim ≤ 1.2×, drain ≥ 0.8", claimRatio <= 1.2 && drainRatio >= 0.8);
    }
}
