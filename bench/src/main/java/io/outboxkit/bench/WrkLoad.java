package io.outboxkit.bench;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Closed-loop POST /orders through wrk (C, event-driven), when it is installed: it leaves more of
 * a 2-core machine to the service than a JVM client would, as pgbench does on its side.
 */
final class WrkLoad {

    private static final Pattern REQUESTS = Pattern.compile("(\\d+) requests in ([0-9.]+)(m?s)");
    private static final Pattern NON_2XX = Pattern.compile("Non-2xx or 3xx responses: (\\d+)");
    private static final Pattern ERRORS = Pattern.compile("Socket errors: connect (\\d+), read (\\d+), write (\\d+), timeout (\\d+)");

    private final String executable;
    private final Path script;

    private WrkLoad(String executable, Path script) {
        this.executable = executable;
        this.script = script;
    }

    /** wrk from PATH, or null when it is not installed. */
    static WrkLoad find(Path script) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(File.pathSeparator)) {
            File candidate = new File(dir, "wrk");
            if (candidate.canExecute()) {
                return new WrkLoad(candidate.getPath(), script);
            }
        }
        return null;
    }

    /**
     * Closed-loop POST /orders at {@code url} from {@value BenchMain#CLIENTS} clients for {@code measured}:
     * through {@code wrk} when it is installed (not null), else through {@code own}, after {@code ownStart}
     * unmeasured (its threads' start; wrk's own start is never counted).
     */
    static OrderLoad.Result closedLoop(WrkLoad wrk, OrderLoad own, String url, Duration ownStart, Duration measured)
            throws IOException, InterruptedException {
        return wrk != null ? wrk.closedLoop(url, BenchMain.CLIENTS, measured)
                : own.closedLoop(BenchMain.CLIENTS, ownStart, measured);
    }

    /** {@code connections} connections on 2 threads for {@code measured}; counts only 2xx answers as created. */
    OrderLoad.Result closedLoop(String url, int connections, Duration measured) throws IOException, InterruptedException {
        List<String> command = List.of(executable, "-t", "2", "-c", Integer.toString(connections), "-d",
                measured.toSeconds() + "s", "--timeout", "10s", "-s", script.toString(), url);
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int exit = process.waitFor();
        Matcher requests = REQUESTS.matcher(output);
        if (exit != 0 || !requests.find()) {
            throw new IllegalStateException("wrk failed (exit " + exit + "):\n" + output);
        }
        long total = Long.parseLong(requests.group(1));
        double seconds = Double.parseDouble(requests.group(2)) / (requests.group(3).equals("ms") ? 1000 : 1);
        Matcher non2xx = NON_2XX.matcher(output);
        long refused = non2xx.find() ? Long.parseLong(non2xx.group(1)) : 0;
        long failed = refused;
        Matcher errors = ERRORS.matcher(output);
        if (errors.find()) {
            for (int i = 1; i <= 4; i++) {
                failed += Long.parseLong(errors.group(i));
            }
        }
        return new OrderLoad.Result(total - refused, failed, seconds);
    }
}
