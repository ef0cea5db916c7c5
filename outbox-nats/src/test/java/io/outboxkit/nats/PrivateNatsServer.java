package io.outboxkit.nats;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.awaitility.Awaitility;

/**
 * A nats-server of the test's own, from /usr/sbin/nats-server, with JetStream on, on a free port and
 * a store in a temporary directory: stopped, killed and started again by the test. The machine's
 * shared NATS is never touched.
 */
final class PrivateNatsServer implements AutoCloseable {

    static final String BINARY = "/usr/sbin/nats-server";

    private final int port;
    private final Path store;
    private final List<String> extraArgs;
    private Process process;

    private PrivateNatsServer(int port, Path store, List<String> extraArgs) {
        this.port = port;
        this.store = store;
        this.extraArgs = extraArgs;
    }

    /** Starts a server; {@code extraArgs} such as {@code --user u --pass p}. */
    static PrivateNatsServer launch(String... extraArgs) {
        try {
            PrivateNatsServer server = new PrivateNatsServer(freePort(), Files.createTempDirectory("nats-test-"), List.of(extraArgs));
            server.start();
            return server;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static boolean available() {
        return new File(BINARY).canExecute();
    }

    String url() {
        return "nats://127.0.0.1:" + port;
    }

    int port() {
        return port;
    }

    long pid() {
        return process.pid();
    }

    /** Starts it (again), on the same port and store, and waits until it accepts connections. */
    void start() {
        List<String> command = new ArrayList<>(List.of(BINARY, "-a", "127.0.0.1", "-p", Integer.toString(port), "-js",
                "-sd", store.toString()));
        command.addAll(extraArgs);
        try {
            process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(store.resolve("server.log").toFile()).start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Awaitility.await("nats-server on port " + port).atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20))
                .until(this::accepts);
    }

    /** Stops it the way an operator would (SIGTERM) and waits for it to end. */
    void stop() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
        }
    }

    /** Kills it (SIGKILL) and waits for it to end. */
    void kill() throws InterruptedException {
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

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

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
