package io.outboxkit.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Phases "obs" (issue 17) and "console" (issue 18): what watching the services costs them. Each
 * setting is measured against the same work without it, alternating in the same run (two rounds each, three
 * in a full run): the relay alone draining a backlog into the bench's sink, and (observability)
 * POST /orders at 16 clients.
 */
final class CostPhase {

    private static final Duration EVERY_SECOND = Duration.ofSeconds(1);
    private static final int CONSOLE_CLIENTS = 10;

    private final BenchMain bench;

    CostPhase(BenchMain bench) {
        this.bench = bench;
    }

    /** Phase "obs": metrics off; on with a scrape every second; and on with tracing exported too. */
    void observability() throws Exception {
        Report report = bench.report;
        report.detail("## 6. Observability's cost: METRICS=off, METRICS=on with GET /metrics every second, and "
                + "that plus tracing (every span sampled, exported over OTLP/HTTP to a collector that drops them)");
        report.detail("");
        try (Sink sink = new Sink()) {
            Map<String, Map<String, String>> modes = new LinkedHashMap<>();
            modes.put("off", Map.of("METRICS", "off"));
            modes.put("metrics", Map.of("METRICS", "on"));
            Map<String, String> tracing = new HashMap<>(Map.of("METRICS", "on", "OTEL_TRACES_EXPORTER", "otlp",
                    "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf", "OTEL_EXPORTER_OTLP_ENDPOINT", sink.otlpEndpoint(),
                    "OTEL_TRACES_SAMPLER", "always_on", "OTEL_METRICS_EXPORTER", "none", "OTEL_LOGS_EXPORTER", "none"));
            modes.put("tracing", tracing);
            Map<String, List<Double>> drains = new LinkedHashMap<>();
            for (int round = 1; round <= rounds(); round++) {
                for (Map.Entry<String, Map<String, String>> mode : modes.entrySet()) {
                    boolean scraped = !mode.getKey().equals("off");
                    double rate = bench.drainOnce("relay alone into the sink, " + describe(mode.getKey()) + ", round " + round,
                            1, sink.url(), "batch", mode.getValue(), null,
                            scraped ? relays -> scrape(relays, "/metrics") : null);
                    drains.computeIfAbsent(mode.getKey(), k -> new ArrayList<>()).add(rate);
                }
            }
            Map<String, List<Double>> writes = writes(modes);
            double drainOff = BenchMain.median(drains.get("off"));
            double writeOff = BenchMain.median(writes.get("off"));
            for (String mode : List.of("metrics", "tracing")) {
                double drain = BenchMain.median(drains.get(mode));
                double write = BenchMain.median(writes.get(mode));
                report.figure("cost of " + describe(mode) + ": relay alone's drain", BenchMain.tps(drain) + " msg/s",
                        "METRICS=off: " + BenchMain.tps(drainOff) + " msg/s", BenchMain.ratio(drain / drainOff), "≥ 0.95",
                        drain / drainOff >= 0.95);
                report.figure("cost of " + describe(mode) + ": POST /orders, 16 clients", BenchMain.tps(write) + " orders/s",
                        "METRICS=off: " + BenchMain.tps(writeOff) + " orders/s", BenchMain.ratio(write / writeOff), "≥ 0.95",
                        write / writeOff >= 0.95);
            }
            report.detail("- the collector received " + sink.exports() + " OTLP exports");
        }
        report.detail("");
    }

    /**
     * POST /orders through an order-service of each mode in turn, twice. One service at a time,
     * each warmed up after its start: three at once would hold 48 connections of a server that
     * other databases share.
     */
    private Map<String, List<Double>> writes(Map<String, Map<String, String>> modes) throws Exception {
        BenchDb db = bench.db;
        int seconds = bench.quick ? 5 : 8;
        Map<String, List<Double>> rates = new LinkedHashMap<>();
        for (int round = 1; round <= rounds(); round++) {
            for (Map.Entry<String, Map<String, String>> mode : modes.entrySet()) {
                Map<String, String> env = new HashMap<>(mode.getValue());
                env.put("DB_POOL_SIZE", Integer.toString(BenchMain.CLIENTS));
                db.reset();
                OrderLoad.Result result;
                String fetched = "";
                try (Service service = Service.start("order-service-" + mode.getKey(), bench.jar("order-service"), db,
                        env, bench.logs(), bench.jfr());
                     OrderLoad load = new OrderLoad(service.url("/orders"), BenchMain.USERS)) {
                    load.closedLoop(BenchMain.CLIENTS, Duration.ofSeconds(bench.quick ? 15 : 30), Duration.ofSeconds(1));
                    db.reset();
                    if (mode.getKey().equals("off")) {
                        result = load.closedLoop(BenchMain.CLIENTS, Duration.ofSeconds(1), Duration.ofSeconds(seconds));
                    } else {
                        try (PeriodicFetch scrape = PeriodicFetch.start(1, List.of(service.url("/metrics")), EVERY_SECOND)) {
                            result = load.closedLoop(BenchMain.CLIENTS, Duration.ofSeconds(1), Duration.ofSeconds(seconds));
                            fetched = "; scrapes: " + scrape.describe();
                        }
                    }
                }
                rates.computeIfAbsent(mode.getKey(), k -> new ArrayList<>()).add(result.perSecond());
                bench.report.detail("- POST /orders, " + describe(mode.getKey()) + ", round " + round + ": "
                        + BenchMain.tps(result.perSecond()) + " orders/s (" + result.failed() + " failed)" + fetched);
            }
        }
        return rates;
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

    private AutoCloseable scrape(List<Service> relays, String path) {
        PeriodicFetch fetch = PeriodicFetch.start(1, relays.stream().map(relay -> relay.url(path)).toList(), EVERY_SECOND);
        return () -> {
            fetch.close();
            bench.report.detail("  - scrapes: " + fetch.describe());
        };
    }

    /**
     * Rounds of each setting, alternating: a drain of the backlog lasts only seconds, so the full
     * run takes a third for a steadier median.
     */
    private int rounds() {
        return bench.quick ? 2 : 3;
    }

    private static String describe(String mode) {
        return switch (mode) {
            case "off" -> "METRICS=off";
            case "metrics" -> "METRICS=on, scraped every second";
            default -> "METRICS=on, scraped every second, tracing exported";
        };
    }
}
