package io.outboxkit.testing;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * What is written to {@code System.err} (where slf4j-simple logs) from {@link #start()} until
 * {@link #close()}, which puts the original stream back. Not for tests running in parallel.
 */
public final class CapturedStderr implements AutoCloseable {

    private final PrintStream original = System.err;
    private final ByteArrayOutputStream captured = new ByteArrayOutputStream();

    private CapturedStderr() {
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
    }

    /** Starts capturing. */
    public static CapturedStderr start() {
        return new CapturedStderr();
    }

    /** The lines written so far that contain {@code text}. */
    public List<String> linesWith(String text) {
        return captured.toString(StandardCharsets.UTF_8).lines().filter(line -> line.contains(text)).toList();
    }

    /** Stops capturing: {@code System.err} is the original stream again. */
    @Override
    public void close() {
        System.setErr(original);
    }
}
