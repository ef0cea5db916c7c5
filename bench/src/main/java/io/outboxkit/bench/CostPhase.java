package io.outboxkit.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * Phases "obs" (issue 17) and "console" (issue 18): what watching the services costs them. Each
 * setting is measured against the same work without it, alternating in the same run (three rounds each, five
 * in a full run): the relay alone draining a backlog into the bench's sink, and (observability)
 * POST /orders at 16 clients and at a steady rate.
 */
final class CostPhase {

    private static final Duration EVERY_SECOND = Duration.ofSeconds(1);
    private static final int CONSOLE_CLIENTS = 10;
    /** POST /orders' steady rate for the latency figure: far below the service's most. */
    private static final int LATENCY_RATE = 200;

    private final BenchMain bench;

    CostPhase(BenchMain bench) {
        this.bench = bench;
    }

    /**
     * Phase "obs": metrics off; on with a scrape every second; and on with tracing exported too,
     * every trace, then a tenth of them (parent-based ratio sampling, as README advises).
     * Besides the rates, each setting's CPU per unit of work (the service's, but its JIT compiler
     * threads', and its database backends'), which other processes on the machine disturb far
     * less than a rate, and POST
     * /orders' latency at a steady {@value #LATENCY_RATE} orders/s. Scraped settings are scraped
     * from their warm-up on, as Prometheus scrapes a service from its start: the scrape's code is
     * compiled before the measurement, not during it.
     */
    void observability() throws Exception {
        Report report = bench.report;
        report.detail("## 6. Observability's cost: METRICS=off, METRICS=on with GET /metrics every second, and "
                + "that plus tracing (every span sampled, exported over OTLP/HTTP to a collector that drops them), "
                + "and that with a tenth of the traces sampled; "
                + rounds() + " rounds, each in another order of the settings");
        report.detail("");
        try (Sink sink = new Sink()) {
            Map<String, Map<String, String>> modes = new LinkedHashMap<>();
            modes.put("off", Map.of("METRICS", "off"));
            modes.put("metrics", Map.of("METRICS", "on"));
            Map<String, String> tracing = new HashMap<>(Map.of("METRICS", "on", "OTEL_TRACES_EXPORTER", "otlp",
                    "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf", "OTEL_EXPORTER_OTLP_ENDPOINT", sink.otlpEndpoint(),
                    "OTEL_TRACES_SAMPLER", "always_on", "OTEL_METRICS_EXPORTER", "none", "OTEL_LOGS_EXPORTER", "none"));
            modes.put("tracing", tracing);
            // What README advises in production: a tenth of the traces, the rest decided by the parent.
            Map<String, String> sampled = new HashMap<>(tracing);
            sampled.put("OTEL_TRACES_SAMPLER", "parentbased_traceidratio");
            sampled.put("OTEL_TRACES_SAMPLER_ARG", "0.1");
            modes.put("sampled", sampled);
            Map<String, List<Double>> drains = new LinkedHashMap<>();
            Map<String, List<Double>> drainCpu = new LinkedHashMap<>();
            for (int round = 1; round <= rounds(); round++) {
                for (Map.Entry<String, Map<String, String>> mode : rotated(modes, round)) {
                    boolean scraped = !mode.getKey().equals("off");
                    double[] cpu = new double[1];
                    long spansBefore = sink.spans();
                    double rate = bench.drainOnce("relay alone into the sink, " + describe(mode.getKey()) + ", round " + round,
                            1, sink.url(), "batch", mode.getValue(), null, relays -> watched(relays, scraped, cpu));
                    drains.computeIfAbsent(mode.getKey(), k -> new ArrayList<>()).add(rate);
                    if (mode.getValue().containsKey("OTEL_TRACES_EXPORTER")) {
                        // A span per message of the warm-up backlog and of the measured one; the relay,
                        // stopped, has sent what its exporter kept. Spans it dropped make tracing look cheap.
                        long received = sink.spans() - spansBefore;
                        long messages = 2L * BenchMain.BACKLOG;
                        report.detail(String.format(Locale.ROOT, "  - spans the collector received: %,d for %,d messages (%.0f%%)",
                                received, messages, 100.0 * received / messages));
                    }
                    drainCpu.computeIfAbsent(mode.getKey(), k -> new ArrayList<>()).add(cpu[0] / BenchMain.BACKLOG * 1e6);
                }
            }
            Map<String, Writes> writes = writes(modes);
            double drainOff = BenchMain.median(drains.get("off"));
            double drainCpuOff = BenchMain.median(drainCpu.get("off"));
            Writes off = writes.get("off");
            for (String mode : List.of("metrics", "tracing", "sampled")) {
                double drain = BenchMain.median(drains.get(mode));
                double cpu = BenchMain.median(drainCpu.get(mode));
                Writes on = writes.get(mode);
                report.figure("cost of " + describe(mode) + ": relay alone's drain", BenchMain.tps(drain) + " msg/s",
                        "METRICS=off: " + BenchMain.tps(drainOff) + " msg/s", BenchMain.ratio(drain / drainOff), "≥ 0.95",
                        drain / drainOff >= 0.95);
                report.figure("cost of " + describe(mode) + ": relay alone's CPU per message (relay without JIT + database backends)",
                        micros(cpu), "METRICS=off: " + micros(drainCpuOff), BenchMain.ratio(cpu / drainCpuOff), "≤ 1.05",
                        cpu / drainCpuOff <= 1.05);
                report.figure("cost of " + describe(mode) + ": POST /orders, 16 clients", BenchMain.tps(on.rate()) + " orders/s",
                        "METRICS=off: " + BenchMain.tps(off.rate()) + " orders/s", BenchMain.ratio(on.rate() / off.rate()),
                        "≥ 0.95", on.rate() / off.rate() >= 0.95);
                report.figure("cost of " + describe(mode) + ": POST /orders' CPU per order (service without JIT + database backends)",
                        micros(on.cpuMicros()), "METRICS=off: " + micros(off.cpuMicros()),
                        BenchMain.ratio(on.cpuMicros() / off.cpuMicros()), "≤ 1.05", on.cpuMicros() / off.cpuMicros() <= 1.05);
                double added = on.p99Millis() - off.p99Millis();
                report.figure("cost of " + describe(mode) + ": POST /orders' latency p99 at " + LATENCY_RATE + " orders/s",
                        String.format(Locale.ROOT, "%.2f ms", on.p99Millis()),
                        String.format(Locale.ROOT, "METRICS=off: %.2f ms", off.p99Millis()),
                        String.format(Locale.ROOT, "%+.2f ms", added), "≤ +1 ms", added <= 1.0);
            }
            report.detail("- the collector received " + sink.exports() + " OTLP exports, " + sink.spans() + " spans");
        }
        report.detail("");
    }

    /** The medians of a setting's rounds of POST /orders: the rate, CPU µs per order, latency p99 in ms. */
    private record Writes(double rate, double cpuMicros, double p99Millis) {
    }

    /**
     * POST /orders through an order-service of each mode in turn, each round in another order.
     * One service at a time, each warmed up after its start until its JIT compilers are quiet
     * ({@link JitWarmUp}): three at once would hold 48 connections of a server that other databases share.
     */
    private Map<String, Writes> writes(Map<String, Map<String, String>> modes) throws Exception {
        BenchDb db = bench.db;
        int seconds = bench.quick ? 5 : 8;
        Map<String, List<double[]>> rounds = new LinkedHashMap<>();
        for (int round = 1; round <= rounds(); round++) {
            for (Map.Entry<String, Map<String, String>> mode : rotated(modes, round)) {
                Map<String, String> env = new HashMap<>(mode.getValue());
                env.put("DB_POOL_SIZE", Integer.toString(BenchMain.CLIENTS));
                db.reset();
                OrderLoad.Result result;
                double cpuMicros;
                String split;
                Histogram latency = new ConcurrentHistogram(TimeUnit.MINUTES.toMicros(1), 2);
                String fetched = "";
                String warmUp;
                boolean scraped = !mode.getKey().equals("off");
                try (Service service = Service.start("order-service-" + mode.getKey(), bench.jar("order-service"), db,
                        env, bench.logs(), bench.jfr());
                     OrderLoad load = new OrderLoad(service.url("/orders"), BenchMain.USERS);
                     PeriodicFetch scrape = scraped ? PeriodicFetch.start(1, List.of(service.url("/metrics")), EVERY_SECOND) : null) {
                    warmUp = JitWarmUp.run(slice -> load.closedLoop(BenchMain.CLIENTS, Duration.ZERO, slice),
                            List.of(service.pid()), Duration.ofSeconds(bench.quick ? 15 : 30),
                            Duration.ofSeconds(bench.quick ? 45 : 90));
                    db.reset();
                    load.closedLoop(BenchMain.CLIENTS, Duration.ZERO, Duration.ofSeconds(1));
                    List<Long> backends = db.backendPids();
                    double[] from = cpu(List.of(service), backends);
                    result = load.closedLoop(BenchMain.CLIENTS, Duration.ZERO, Duration.ofSeconds(seconds));
                    double[] to = cpu(List.of(service), backends);
                    cpuMicros = (to[0] - from[0] + to[1] - from[1]) / result.created() * 1e6;
                    split = " (service without JIT " + micros((to[0] - from[0]) / result.created() * 1e6)
                            + ", database backends " + micros((to[1] - from[1]) / result.created() * 1e6) + ")";
                    load.openLoop(LATENCY_RATE, Duration.ofSeconds(seconds), latency);
                    if (scrape != null) {
                        fetched = "; scrapes: " + scrape.describe();
                    }
                }
                double p99 = latency.getValueAtPercentile(99) / 1000.0;
                rounds.computeIfAbsent(mode.getKey(), k -> new ArrayList<>()).add(new double[] {result.perSecond(), cpuMicros, p99});
                bench.report.detail("- POST /orders, " + describe(mode.getKey()) + ", round " + round + ": "
                        + BenchMain.tps(result.perSecond()) + " orders/s (" + result.failed() + " failed), "
                        + micros(cpuMicros) + " of CPU per order" + split + "; at " + LATENCY_RATE
                        + " orders/s latency p50 / p99 / max " + BenchMain.p50p99max(latency) + fetched
                        + "; after a warm-up of " + warmUp);
            }
        }
        Map<String, Writes> medians = new LinkedHashMap<>();
        rounds.forEach((mode, figures) -> medians.put(mode, new Writes(
                BenchMain.median(figures.stream().map(f -> f[0]).toList()),
                BenchMain.median(figures.stream().map(f -> f[1]).toList()),
                BenchMain.median(figures.stream().map(f -> f[2]).toList()))));
        return medians;
    }

    /**
     * What runs beside a measured drain: for a scraped setting, scrapes, first every 10 ms for two
     * seconds (the relay has been scraped since its start in a real deployment: its scrape code is
     * compiled), then every second; and the CPU the relay and its database backends spend, in
     * seconds, into {@code cpu[0]} when it closes.
     */
    private AutoCloseable watched(List<Service> relays, boolean scraped, double[] cpu) throws Exception {
        List<String> urls = relays.stream().map(relay -> relay.url("/metrics")).toList();
        if (scraped) {
            try (PeriodicFetch warmUp = PeriodicFetch.start(1, urls, Duration.ofMillis(10))) {
                Thread.sleep(2_000); // as long as the warm-up scrapes run, not a wait for anything
            }
        }
        List<Long> backends = bench.db.backendPids();
        double[] from = cpu(relays, backends);
        PeriodicFetch fetch = scraped ? PeriodicFetch.start(1, urls, EVERY_SECOND) : null;
        return () -> {
            double[] to = cpu(relays, backends);
            double relay = to[0] - from[0];
            double database = to[1] - from[1];
            cpu[0] = relay + database;
            String line = "  - CPU per message: " + micros(cpu[0] / BenchMain.BACKLOG * 1e6) + " (relay without its JIT "
                    + micros(relay / BenchMain.BACKLOG * 1e6) + ", its database backends "
                    + micros(database / BenchMain.BACKLOG * 1e6) + ")";
            if (fetch != null) {
                fetch.close();
                line += "; scrapes: " + fetch.describe();
            }
            bench.report.detail(line);
        };
    }

    /** CPU seconds so far: of {@code services} without their JIT compilers ({@link CpuMeter#withoutJit}), and of {@code backends}. */
    private static double[] cpu(List<Service> services, List<Long> backends) {
        double jvms = services.stream().mapToDouble(service -> CpuMeter.withoutJit(service.pid())).sum();
        return new double[] {jvms, CpuMeter.sample(List.of(), backends).seconds().getOrDefault(CpuMeter.BENCH_DB_BACKENDS, 0.0)};
    }

    /** The settings in round {@code round}'s order: each round starts one further along, so none always goes first. */
    private static <K, V> List<Map.Entry<K, V>> rotated(Map<K, V> settings, int round) {
        List<Map.Entry<K, V>> order = new ArrayList<>(settings.entrySet());
        Collections.rotate(order, -((round - 1) % order.size()));
        return order;
    }

    private static String micros(double value) {
        return String.format(Locale.ROOT, "%.1f µs", value);
    }

    /** Phase "console": ten clients refreshing the console's overview and list every second, against none. */
    void console() throws Exception {
        Report report = bench.report;
        report.detail("## 7. The console's cost: " + CONSOLE_CLIENTS + " clients each fetching GET /console/overview and "
                + "GET /console/messages (what an open console page refreshes) every second, against none");
        report.detail("");
        List<Double> without = new ArrayList<>();
        List<Double> with = new ArrayList<>();
        try (Sink sink = new Sink()) {
            for (int round = 1; round <= rounds(); round++) {
                without.add(bench.drainOnce("relay alone into the sink, no console open, round " + round, 1, sink.url(),
                        "batch", Map.of(), null));
                with.add(bench.drainOnce("relay alone into the sink, " + CONSOLE_CLIENTS + " consoles open, round " + round,
                        1, sink.url(), "batch", Map.of(), null,
                        relays -> console(relays.get(0))));
            }
        }
        double none = BenchMain.median(without);
        double open = BenchMain.median(with);
        report.detail("");
        report.figure("cost of " + CONSOLE_CLIENTS + " open consoles (overview + list every second): relay alone's drain",
                BenchMain.tps(open) + " msg/s", "no console: " + BenchMain.tps(none) + " msg/s", BenchMain.ratio(open / none),
                "≥ 0.95", open / none >= 0.95);
    }

    private AutoCloseable console(Service relay) {
        PeriodicFetch fetch = PeriodicFetch.start(CONSOLE_CLIENTS,
                List.of(relay.url("/console/overview"), relay.url("/console/messages")), EVERY_SECOND);
        return () -> {
            fetch.close();
            bench.report.detail("  - console fetches: " + fetch.describe());
        };
    }

    /**
     * Rounds of each setting, alternating: a drain of the backlog lasts only seconds, on a machine
     * that other work may share, so even a quick run takes three for a median that one disturbed
     * round does not decide (five in a full run).
     */
    private int rounds() {
        return bench.quick ? 3 : 5;
    }

    private static String describe(String mode) {
        return switch (mode) {
            case "off" -> "METRICS=off";
            case "metrics" -> "METRICS=on, scraped every second";
            case "tracing" -> "METRICS=on, scraped every second, tracing exported";
            default -> "METRICS=on, scraped every second, a tenth of the traces exported";
        };
    }
}
