package io.outboxkit.devpostgres;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * {@code java -jar dev-postgres.jar}: starts the development PostgreSQL (see {@link DevPostgres}),
 * prints {@code dev-postgres: ready on port P (data in DIR)} on stdout once the services may
 * connect, and runs until SIGTERM or Ctrl-C, when it stops PostgreSQL cleanly and prints
 * {@code dev-postgres: stopped} (also when the signal comes while PostgreSQL is starting). A
 * failed start is one line on stderr and a non-zero exit: 2 for a bad setting or a port in use, 1
 * otherwise.
 */
public final class DevPostgresMain {

    /** Longer than PostgreSQL's own startup wait, so that a start under way is waited for, then stopped. */
    private static final Duration START_TIMEOUT = Duration.ofSeconds(90);

    private DevPostgresMain() {
    }

    /** Runs until the JVM is asked to exit. Configured by {@code PORT} and {@code DATA_DIR}. */
    public static void main(String[] args) {
        AtomicReference<DevPostgres> started = new AtomicReference<>();
        CountDownLatch startFinished = new CountDownLatch(1);
        CountDownLatch stopped = new CountDownLatch(1);
        // Registered before the start: a SIGTERM while PostgreSQL starts would otherwise leave it running.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            awaitQuietly(startFinished, START_TIMEOUT);
            DevPostgres postgres = started.get();
            if (postgres != null) {
                stop(postgres, stopped);
            }
        }, "dev-postgres-stop"));
        DevPostgres postgres;
        try {
            DevPostgresSettings settings = DevPostgresSettings.from(System.getenv());
            postgres = DevPostgres.start(settings);
            started.set(postgres);
        } catch (DevPostgresException e) {
            System.err.println("dev-postgres: " + e.getMessage());
            startFinished.countDown();
            System.exit(e.exitStatus());
            return;
        } finally {
            startFinished.countDown();
        }
        System.out.println("dev-postgres: ready on port " + postgres.port() + " (data in "
                + postgres.settings().dataDirectory() + ")");
        System.out.flush();
        awaitQuietly(stopped, null);
    }

    private static void awaitQuietly(CountDownLatch latch, Duration timeout) {
        try {
            if (timeout == null) {
                latch.await();
            } else {
                latch.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void stop(DevPostgres postgres, CountDownLatch stopped) {
        try {
            postgres.close();
            System.out.println("dev-postgres: stopped");
        } catch (Exception e) {
            System.err.println("dev-postgres: PostgreSQL did not stop cleanly: " + DevPostgres.rootMessage(e));
        } finally {
            System.out.flush();
            stopped.countDown();
        }
    }
}
