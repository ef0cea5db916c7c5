package io.outboxkit.bench;

import io.outboxkit.app.Database;
import io.outboxkit.app.DatabaseSettings;
import io.outboxkit.app.ServiceSchema;
import io.outboxkit.core.OutboxNames;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Phase "peer" (issue 20, target 6): gruelbox's transaction-outbox beside outboxkit in the same
 * run. The write: 16 threads, each transaction one order row and one event, over one pool, in
 * alternating rounds. The drain: the peer's flush over a backlog, with two pool sizes, against one
 * relay delivering to the bench's sink that acknowledges at once (the peer's call does nothing).
 */
final class PeerPhase {

    private static final int[] PEER_DRAIN_THREADS = {2, 8};

    private final BenchMain bench;

    PeerPhase(BenchMain bench) {
        this.bench = bench;
    }

    void run() throws Exception {
        BenchDb db = bench.db;
        Report report = bench.report;
        int rounds = 3;
        int seconds = bench.quick ? 5 : 8;
        report.detail("## 5. The nearest peer: gruelbox's transaction-outbox (com.gruelbox:transactionoutbox-core)");
        report.detail("");
        report.detail("Write: each of " + rounds + " rounds measures, back to back for " + seconds + " s each, at "
                + BenchMain.CLIENTS + " threads on one pool of " + BenchMain.CLIENTS + " connections: OutboxWriter "
                + "(order + message in one plain JDBC transaction, as order-service writes them; no relay running), "
                + "the peer writing only (order + "
                + "scheduled call, its submitter doing nothing), and the peer as it runs by default (each call "
                + "run after its commit on its default executor, in its own transaction). Ratios are medians of "
                + "the rounds' ratios.");
        report.detail("");
        DatabaseSettings settings = new DatabaseSettings(db.jdbcUrl(), db.user(),
                System.getenv().getOrDefault("PGPASSWORD", "unused"));
        db.reset();
        List<Double> ours = new ArrayList<>();
        List<Double> peerWrites = new ArrayList<>();
        List<Double> peerDefaults = new ArrayList<>();
        List<Double> againstWrite = new ArrayList<>();
        List<Double> againstDefault = new ArrayList<>();
        try (Database database = Database.open(settings, "bench-writer", BenchMain.CLIENTS,
                ServiceSchema.outboxOnly(OutboxNames.DEFAULT));
             PeerOutbox writeOnly = PeerOutbox.writeOnly(database.dataSource())) {
            WriterLoad writer = new WriterLoad(database.dataSource());
            // Each until the JIT has compiled its paths (in this JVM, as both run here).
            Duration least = Duration.ofSeconds(bench.quick ? 10 : 20);
            Duration most = Duration.ofSeconds(bench.quick ? 40 : 80);
            List<Long> self = List.of(ProcessHandle.current().pid());
            report.detail("- warm-up of OutboxWriter, not a figure: " + JitWarmUp.run(
                    round -> writer.run(BenchMain.CLIENTS, Duration.ZERO, round), self, least, most));
            report.detail("- warm-up of the peer writing only, not a figure: " + JitWarmUp.run(
                    round -> WriterLoad.closedLoop(writeOnly::createOrder, BenchMain.CLIENTS, Duration.ZERO, round),
                    self, least, most));
            try (PeerOutbox byDefault = PeerOutbox.withDefaultSubmitter(database.dataSource())) {
                report.detail("- warm-up of the peer by default, not a figure: " + JitWarmUp.run(
                        round -> WriterLoad.closedLoop(byDefault::createOrder, BenchMain.CLIENTS, Duration.ZERO, round),
                        self, least, most));
            }
            for (int round = 1; round <= rounds; round++) {
                reset(db);
                OrderLoad.Result outboxkit = writer.run(BenchMain.CLIENTS, Duration.ofSeconds(1), Duration.ofSeconds(seconds));
                reset(db);
                OrderLoad.Result peerWrite = WriterLoad.closedLoop(writeOnly::createOrder, BenchMain.CLIENTS,
                        Duration.ofSeconds(1), Duration.ofSeconds(seconds));
                reset(db);
                OrderLoad.Result peerDefault;
                // A fresh one each round: closing it discards the calls still queued, which would
                // otherwise run into the next round's measurements.
                try (PeerOutbox byDefault = PeerOutbox.withDefaultSubmitter(database.dataSource())) {
                    peerDefault = WriterLoad.closedLoop(byDefault::createOrder, BenchMain.CLIENTS,
                            Duration.ofSeconds(1), Duration.ofSeconds(seconds));
                }
                if (peerWrite.created() == 0 || peerDefault.created() == 0) {
                    throw new IllegalStateException("the peer wrote nothing (see the bench's log for its errors)");
                }
                // What its submitter did not run by the round's end waits for a flush (after 2 minutes by default).
                long left = db.queryLong("SELECT count(*) FROM txno_outbox");
                ours.add(outboxkit.perSecond());
                peerWrites.add(peerWrite.perSecond());
                peerDefaults.add(peerDefault.perSecond());
                againstWrite.add(outboxkit.perSecond() / peerWrite.perSecond());
                againstDefault.add(outboxkit.perSecond() / peerDefault.perSecond());
                report.detail("- round " + round + ": OutboxWriter " + BenchMain.tps(outboxkit.perSecond()) + " orders/s ("
                        + outboxkit.failed() + " failed); peer, write only " + BenchMain.tps(peerWrite.perSecond())
                        + " (" + peerWrite.failed() + " failed); peer by default " + BenchMain.tps(peerDefault.perSecond())
                        + " (" + peerDefault.failed() + " failed; " + left + " of its calls not run by the round's end)");
            }
        }
        report.figure("peer, write: OutboxWriter / transaction-outbox writing only, 16 threads",
                BenchMain.tps(BenchMain.median(ours)) + " orders/s", "peer: " + BenchMain.tps(BenchMain.median(peerWrites))
                        + " orders/s", BenchMain.ratio(BenchMain.median(againstWrite)), "≥ 1.10",
                BenchMain.median(againstWrite) >= 1.1);
        report.figure("peer, write: OutboxWriter / transaction-outbox with its default submitter, 16 threads",
                BenchMain.tps(BenchMain.median(ours)) + " orders/s", "peer: " + BenchMain.tps(BenchMain.median(peerDefaults))
                        + " orders/s", BenchMain.ratio(BenchMain.median(againstDefault)), "≥ 1.10",
                BenchMain.median(againstDefault) >= 1.1);
        drain(settings);
        report.detail("");
    }

    private void drain(DatabaseSettings settings) throws Exception {
        Report report = bench.report;
        int backlog = bench.quick ? 20_000 : 50_000;
        double best = 0;
        String bestSetting = "";
        double ours;
        try (Database database = Database.open(settings, "bench-peer", BenchMain.CLIENTS,
                ServiceSchema.outboxOnly(OutboxNames.DEFAULT))) {
            best = peerDrain(database, PEER_DRAIN_THREADS[0], backlog);
            bestSetting = PEER_DRAIN_THREADS[0] + " threads";
            try (Sink sink = new Sink()) {
                ours = bench.drainOnce("relay alone into the sink, 1 relay (beside the peer's drain)", 1, sink.url(),
                        "batch", Map.of(), null);
            }
            for (int i = 1; i < PEER_DRAIN_THREADS.length; i++) {
                double rate = peerDrain(database, PEER_DRAIN_THREADS[i], backlog);
                if (rate > best) {
                    best = rate;
                    bestSetting = PEER_DRAIN_THREADS[i] + " threads";
                }
            }
        }
        report.figure("peer, drain: one relay → instant sink / transaction-outbox's flush at its best setting ("
                        + bestSetting + ")", BenchMain.tps(ours) + " msg/s", "peer: " + BenchMain.tps(best) + " entries/s",
                BenchMain.ratio(ours / best), "≥ 10", ours / best >= 10);
    }

    /** The peer's drain of {@code backlog} entries written before: flush until none is left, each run on {@code threads}. */
    private double peerDrain(Database database, int threads, int backlog) throws Exception {
        BenchDb db = bench.db;
        try (PeerOutbox writer = PeerOutbox.writeOnly(database.dataSource());
             PeerOutbox peer = PeerOutbox.draining(database.dataSource(), threads)) {
            writer.writeBacklog(db, Math.min(backlog, 5_000));
            peer.drain(db, Duration.ofMinutes(3)); // warm-up: the JIT compiles the peer's paths
            writer.writeBacklog(db, backlog);
            db.execute("CHECKPOINT");
            CpuMeter.Sample from = CpuMeter.sample(List.of());
            long start = System.nanoTime();
            long ran = peer.drain(db, Duration.ofMinutes(10));
            double seconds = (System.nanoTime() - start) / 1e9;
            double rate = backlog / seconds;
            bench.report.detail("- peer's drain, " + threads + " threads running the claimed entries: "
                    + BenchMain.tps(rate) + " entries/s (" + String.format("%,d", backlog) + " in "
                    + String.format("%.1f", seconds) + " s, " + ran + " calls run); CPU in cores: "
                    + CpuMeter.describe(CpuMeter.cores(from, CpuMeter.sample(List.of()))));
            if (ran < backlog) {
                throw new IllegalStateException("the peer ran " + ran + " of " + backlog + " entries");
            }
            return rate;
        }
    }

    private static void reset(BenchDb db) throws Exception {
        db.reset();
        PeerOutbox.reset(db);
    }
}
