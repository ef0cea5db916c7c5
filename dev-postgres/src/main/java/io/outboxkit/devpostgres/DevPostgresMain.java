package io.outboxkit.devpostgres;

import java.util.concurrent.CountDownLatch;

/**
 * {@code java -jar dev-postgres.jar}: starts the development PostgreSQL (see {@link DevPostgres}),
 * prints {@code dev-postgres: ready on port P (data in DIR)} on stdout once the services may
 * connect, and runs until SIGTERM or Ctrl-C, when it stops PostgreSQL cleanly and prints
 * {@code dev-postgres: stopped}. A failed start is one line on stderr and a non-zero exit:
 * 2 for a bad setting or a port in use, 1 otherwise.
 */
public final class DevPostgresMain {

    private DevPostgresMain() {
    }

    /** Runs until the JVM is asked to exit. Configured by {@code PORT} and {@code DATA_DIR}. */
    public static void main(String[] args) {
        DevPostgres postgres;
        try {
            DevPostgresSettings settings = DevPostgresSettings.from(System.getenv());
            postgres = DevPostgres.start(settings);
        } catch (DevPostgresException e) {
            System.err.println("dev-postgres: " + e.getMessage());
            System.exit(e.exitStatus());
            return;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> stop(postgres, stopped), "dev-postgres-stop"));
        System.out.println("dev-postgres: ready on port " + postgres.port() + " (data in "
                + postgres.settings().dataDirectory() + ")");
        System.out.flush();
        try {
            stopped.await();
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
