package io.outboxkit.testing;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A nats-server of the test's own, from /usr/sbin/nats-server, with JetStream on, on a free port and
 * a store in a temporary directory: stopped, killed and started again by the test. The machine's
 * shared NATS is never touched. {@link #close()} kills it and deletes its store. Not thread-safe.
 */
public final class PrivateNatsServer implements AutoCloseable {

    /** Where the server binary is expected. */
    public static final String BINARY = "/usr/sbin/nats-server";
    private static final Duration START_WAIT = Duration.ofSeconds(10);

    private final int port;
    private final Path store;
    private final List<String> extraArgs;
    private Process process;

    private PrivateNatsServer(int port, Path store, List<String> extraArgs) {
        this.port = port;
        this.store = store;
        this.extraArgs = extraArgs;
    }

    /**
     * Starts a server; {@code extraArgs} such as {@code --user u --pass p}.
     *
     * @throws IllegalStateException when {@link #BINARY} is missing or the server does not accept
     *     connections within 10 s (a test that needs it fails, it is never skipped)
     */
    public static PrivateNatsServer launch(String... extraArgs) {
        PrivateNatsServer server = unstarted(extraArgs);
        server.start();
        return server;
    }

    /**
     * A server on a free port with a store of its own, not started yet: its {@link #url()} can be
     * given to a client that must meet a broker that is down, and {@link #start()} brings it up.
     */
    public static PrivateNatsServer unstarted(String... extraArgs) {
        try {
            return new PrivateNatsServer(FreePorts.pick(), Files.createTempDirectory("nats-test-"), List.of(extraArgs));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Whether {@link #BINARY} is installed. */
    public static boolean available() {
        return new File(BINARY).canExecute();
    }

    /** {@code nats://127.0.0.1:<port>}. */
    public String url() {
        return "nats://127.0.0.1:" + port;
    }

    /** The port it listens on, the same after a restart. */
    public int port() {
        return port;
    }

    /** The operating system's process id of the running server. */
    public long pid() {
        return process.pid();
    }

    /** Starts it (again), on the same port and store, and waits until it accepts connections. */
    public void start() {
        if (!available()) {
            throw new IllegalStateException(BINARY + " is not installed (or not executable): the test needs a nats-server of its own");
        }
        List<String> command = new ArrayList<>(List.of(BINARY, "-a", "127.0.0.1", "-p", Integer.toString(port), "-js",
                "-sd", store.toString()));
        command.addAll(extraArgs);
        try {
            process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(store.resolve("server.log").toFile()).start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        long deadline = System.nanoTime() + START_WAIT.toNanos();
        while (!accepts()) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                process.destroyForcibly();
                throw new IllegalStateException("nats-server on port " + port + " did not accept connections within "
                        + START_WAIT + "; see " + store.resolve("server.log"));
            }
            try {
                TimeUnit.MILLISECONDS.sleep(20); // polls the port until the server listens
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                process.destroyForcibly();
                throw new IllegalStateException("interrupted while starting nats-server", e);
            }
        }
    }

    /** Stops it the way an operator would (SIGTERM) and waits for it to end. */
    public void stop() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
        }
    }

    /** Kills it (SIGKILL) and waits for it to end. */
    public void kill() throws InterruptedException {
        process.destroyForcibly().waitFor();
    }

    private boolean accepts() {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Kills the server if it runs and deletes its store. */
    @Override
    public void close() throws Exception {
        if (process != null && process.isAlive()) {
            kill();
        }
        try (Stream<Path> files = Files.walk(store)) {
            files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        }
    }
}
