package io.outboxkit.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * Clients that each fetch a few URLs once per period, as a Prometheus scraper or a browser tab
 * left open on the console does, each on its own connection. Counts answers and times them.
 */
final class PeriodicFetch implements AutoCloseable {

    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicLong ok = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final Histogram micros = new ConcurrentHistogram(TimeUnit.MINUTES.toMicros(1), 2);
    private final List<Thread> threads = new ArrayList<>();

    private PeriodicFetch() {
    }

    /** {@code clients} threads, each fetching every one of {@code urls} in turn, every {@code period}. */
    static PeriodicFetch start(int clients, List<String> urls, Duration period) {
        PeriodicFetch fetch = new PeriodicFetch();
        for (int i = 0; i < clients; i++) {
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(Duration.ofSeconds(2)).build();
            Thread thread = new Thread(() -> fetch.loop(http, urls, period), "periodic-fetch-" + i);
            thread.setDaemon(true);
            thread.start();
            fetch.threads.add(thread);
        }
        return fetch;
    }

    private void loop(HttpClient http, List<String> urls, Duration period) {
        long next = System.nanoTime();
        while (running.get()) {
            for (String url : urls) {
                long start = System.nanoTime();
                try {
                    HttpResponse<byte[]> response = http.send(HttpRequest.newBuilder(URI.create(url))
                            .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofByteArray());
                    (response.statusCode() == 200 ? ok : failed).incrementAndGet();
                } catch (java.io.IOException e) {
                    failed.incrementAndGet();
                } catch (InterruptedException e) {
                    return;
                }
                micros.recordValue(Math.min(micros.getHighestTrackableValue(), (System.nanoTime() - start) / 1000));
            }
            next += period.toNanos();
            long wait = next - System.nanoTime();
            if (wait > 0) {
                try {
                    TimeUnit.NANOSECONDS.sleep(wait); // the period between fetches, as a scraper's interval
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    /** "n fetched (f failed), p50 / p99 / max" so far. */
    String describe() {
        return ok.get() + " answered 200, " + failed.get() + " not; time to answer p50 / p99 / max "
                + BenchMain.p50p99max(micros);
    }

    long failed() {
        return failed.get();
    }

    @Override
    public void close() throws InterruptedException {
        running.set(false);
        for (Thread thread : threads) {
            thread.interrupt();
            thread.join(TimeUnit.SECONDS.toMillis(15));
        }
    }
}
