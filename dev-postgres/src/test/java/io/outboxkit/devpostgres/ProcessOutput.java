package io.outboxkit.devpostgres;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** The lines a child process prints on one stream, read on a daemon thread; every wait has a deadline. */
final class ProcessOutput {

    private final BlockingQueue<String> unread = new LinkedBlockingQueue<>();
    private final List<String> all = new CopyOnWriteArrayList<>();
    private final CountDownLatch ended = new CountDownLatch(1);

    private ProcessOutput() {
    }

    static ProcessOutput of(InputStream stream) {
        ProcessOutput output = new ProcessOutput();
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    output.all.add(line);
                    output.unread.add(line);
                }
            } catch (IOException e) {
                // the stream closed: the process ended
            } finally {
                output.ended.countDown();
            }
        }, "process-output");
        reader.setDaemon(true);
        reader.start();
        return output;
    }

    /** The next line starting with {@code prefix}, waiting up to {@code within}. */
    String awaitLine(String prefix, Duration within) throws InterruptedException {
        Instant deadline = Instant.now().plus(within);
        for (Duration left = within; !left.isNegative(); left = Duration.between(Instant.now(), deadline)) {
            String line = unread.poll(left.toMillis(), TimeUnit.MILLISECONDS);
            if (line != null && line.startsWith(prefix)) {
                return line;
            }
        }
        throw new AssertionError("no line starting with '" + prefix + "' within " + within + "; saw " + all);
    }

    /** The lines read so far. */
    List<String> lines() {
        return new ArrayList<>(all);
    }

    /** Every line, once the stream has ended (waiting up to {@code within} for its end). */
    List<String> allLines(Duration within) throws InterruptedException {
        if (!ended.await(within.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("the stream did not end within " + within);
        }
        return new ArrayList<>(all);
    }
}
