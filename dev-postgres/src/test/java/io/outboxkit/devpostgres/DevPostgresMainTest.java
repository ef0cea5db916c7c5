package io.outboxkit.devpostgres;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.testing.FreePorts;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The process run.sh starts: a ready line, then a clean stop on SIGTERM; one line and exit 2 on a taken port. */
class DevPostgresMainTest {

    private static final Duration DEADLINE = Duration.ofSeconds(90);

    @TempDir
    Path dataDir;

    private Process process;

    @AfterEach
    void killLeftover() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void prints_ready_then_stops_postgres_cleanly_on_sigterm() throws Exception {
        int port = FreePorts.pick();
        process = start(port);
        ProcessOutput out = ProcessOutput.of(process.getInputStream());
        ProcessOutput err = ProcessOutput.of(process.getErrorStream());

        assertThat(out.awaitLine("dev-postgres: ", DEADLINE)).isEqualTo(
                "dev-postgres: ready on port " + port + " (data in " + dataDir.toAbsolutePath() + ")");
        try (Connection c = DriverManager.getConnection("jdbc:postgresql://localhost:" + port + "/outbox",
                "outbox", "outbox")) {
            assertThat(c.isValid(2)).isTrue();
        }

        // SIGTERM through the handle: Process.destroy() would also close our end of its output.
        assertThat(process.toHandle().destroy()).isTrue();
        assertThat(process.waitFor(DEADLINE.toSeconds(), TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).isEqualTo(143); // the JVM's status after SIGTERM, hooks run
        assertThat(out.allLines(DEADLINE)).as(() -> String.join("\n", err.lines()))
                .last().isEqualTo("dev-postgres: stopped");
        DevPostgres.requirePortFree(new DevPostgresSettings(port, dataDir));
    }

    @Test
    void sigterm_while_postgres_starts_still_stops_it_so_the_next_start_finds_the_port_free() throws Exception {
        int port = FreePorts.pick();
        process = start(port);
        ProcessOutput out = ProcessOutput.of(process.getInputStream());
        ProcessOutput err = ProcessOutput.of(process.getErrorStream());
        Path pidFile = dataDir.resolve("postmaster.pid");
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        // The postmaster takes connections, and the launcher is not yet ready: the window asked for.
        // (Not the pid file: initdb's own single-user backends write one, and remove it.)
        while (!accepts(port) && System.nanoTime() - deadline < 0) {
            Thread.onSpinWait();
        }
        assertThat(accepts(port)).as("the postmaster started").isTrue();

        assertThat(process.toHandle().destroy()).isTrue();
        assertThat(process.waitFor(DEADLINE.toSeconds(), TimeUnit.SECONDS)).isTrue();

        assertThat(out.allLines(DEADLINE)).as(() -> String.join("\n", err.lines()))
                .last().isEqualTo("dev-postgres: stopped");
        assertThat(pidFile).as("no postmaster left running").doesNotExist();
        DevPostgres.requirePortFree(new DevPostgresSettings(port, dataDir));
    }

    @Test
    void a_taken_port_is_one_line_on_stderr_and_exit_2() throws Exception {
        try (ServerSocket taken = new ServerSocket(0)) {
            process = start(taken.getLocalPort());
            ProcessOutput out = ProcessOutput.of(process.getInputStream());
            ProcessOutput err = ProcessOutput.of(process.getErrorStream());

            assertThat(process.waitFor(DEADLINE.toSeconds(), TimeUnit.SECONDS)).isTrue();
            assertThat(process.exitValue()).isEqualTo(2);
            assertThat(err.allLines(DEADLINE)).singleElement().asString()
                    .startsWith("dev-postgres: port " + taken.getLocalPort() + " is already in use");
            assertThat(out.allLines(DEADLINE)).isEmpty();
        }
    }

    private static boolean accepts(int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 100);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private Process start(int port) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder builder = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                DevPostgresMain.class.getName());
        builder.environment().put("PORT", Integer.toString(port));
        builder.environment().put("DATA_DIR", dataDir.toString());
        return builder.start();
    }
}
