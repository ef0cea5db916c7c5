package io.outboxkit.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.HdrHistogram.Histogram;

/** Runs pgbench with one of the shipped scripts against the bench database and reads its tps. */
final class Pgbench {

    private static final Pattern TPS = Pattern.compile("tps = ([0-9.]+) \\(without initial connection time\\)");
    private static final Pattern LATENCY = Pattern.compile("latency average = ([0-9.]+) ms");

    /** What pgbench reported: transactions per second and the mean latency. */
    record Result(double tps, double latencyMs, String output) {
    }

    private final String executable;
    private final Path scripts;
    private final BenchDb db;

    Pgbench(String executable, Path scripts, BenchDb db) {
        this.executable = executable;
        this.scripts = scripts;
        this.db = db;
    }

    /** {@code script} with {@code clients} connections for {@code seconds}. */
    Result forSeconds(String script, int clients, int seconds, String... defines) throws IOException, InterruptedException {
        return run(script, clients, List.of("-T", Integer.toString(seconds)), defines);
    }

    /**
     * {@code script} with {@code clients} connections, at least {@code transactions} in all: each
     * client runs its share rounded up, so that a count the clients do not divide is still run whole
     * (the few extra transactions, fewer than {@code clients}, find the work done and cost little).
     */
    Result forTransactions(String script, int clients, int transactions, String... defines)
            throws IOException, InterruptedException {
        int perClient = Math.max(1, (transactions + clients - 1) / clients);
        return run(script, clients, List.of("-t", Integer.toString(perClient)), defines);
    }

    /**
     * {@code script} at a steady {@code rate} transactions per second for {@code seconds}, with
     * {@code clients} connections: each transaction's latency as pgbench's client saw it (from its
     * scheduled start, so a stall of the server delays the ones queued behind it too).
     */
    Histogram latenciesAtRate(String script, int clients, int rate, int seconds, Path workDir)
            throws IOException, InterruptedException {
        Files.createDirectories(workDir);
        String prefix = workDir.resolve("pgbench_rate_" + rate).toString();
        try (Stream<Path> old = Files.list(workDir)) {
            for (Path log : old.filter(f -> f.toString().startsWith(prefix)).toList()) {
                Files.delete(log);
            }
        }
        run(script, clients, List.of("-T", Integer.toString(seconds), "-R", Integer.toString(rate), "--log",
                "--log-prefix=" + prefix));
        Histogram micros = new Histogram(TimeUnit.MINUTES.toMicros(5), 3);
        try (Stream<Path> logs = Files.list(workDir)) {
            for (Path log : logs.filter(f -> f.toString().startsWith(prefix)).toList()) {
                // Each line: client_id transaction_no time_us script_no epoch_s epoch_us [schedule_lag_us]
                for (String line : Files.readAllLines(log)) {
                    String[] fields = line.trim().split("\\s+");
                    if (fields.length >= 3 && !"skipped".equals(fields[2])) {
                        micros.recordValue(Math.min(micros.getHighestTrackableValue(), Long.parseLong(fields[2])));
                    }
                }
            }
        }
        return micros;
    }

    private Result run(String script, int clients, List<String> length, String... defines)
            throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(executable, "-h", db.host(), "-p", Integer.toString(db.port()),
                "-U", db.user(), "-n", "-M", "prepared", "-c", Integer.toString(clients),
                "-j", Integer.toString(Math.min(clients, 2))));
        command.addAll(length);
        for (String define : defines) {
            command.add("-D");
            command.add(define);
        }
        command.add("-f");
        command.add(scripts.resolve(script).toString());
        command.add(db.name());
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int exit = process.waitFor();
        Matcher tps = TPS.matcher(output);
        if (exit != 0 || !tps.find()) {
            throw new IllegalStateException("pgbench " + script + " failed (exit " + exit + "):\n" + output);
        }
        Matcher latency = LATENCY.matcher(output);
        return new Result(Double.parseDouble(tps.group(1)), latency.find() ? Double.parseDouble(latency.group(1)) : Double.NaN,
                output);
    }
}
