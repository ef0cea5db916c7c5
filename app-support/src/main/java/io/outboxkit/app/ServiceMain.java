package io.outboxkit.app;

import io.outboxkit.core.spi.Causes;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a service process: starts it, stops it on SIGTERM or Ctrl-C (through a shutdown hook,
 * which closes what the start returned), and turns a failed start into one clear line on
 * stderr and exit status 2, never a stack trace.
 */
public final class ServiceMain {

    /** The exit status of a start that failed on configuration or an unreachable dependency. */
    public static final int EXIT_START_FAILED = 2;

    private static final String KAFKA_LOG_LEVEL = "org.slf4j.simpleLogger.log.org.apache.kafka";

    /** Logged once the service is started and a SIGTERM would stop it in order. */
    public static final String RUNNING = "running; SIGTERM or Ctrl-C stops it";

    private ServiceMain() {
    }

    /**
     * Starts the service with {@code start} and blocks until the JVM is asked to exit; then closes it.
     * Never returns normally after a failed start, an {@link Error} from {@code start} included: the
     * process exits with {@link #EXIT_START_FAILED}.
     */
    public static void run(String serviceName, Callable<? extends AutoCloseable> start) {
        // Kafka's clients log their whole configuration and every step at INFO; a service's log shows their trouble only.
        if (System.getProperty(KAFKA_LOG_LEVEL) == null) {
            System.setProperty(KAFKA_LOG_LEVEL, "warn");
        }
        Logger log = LoggerFactory.getLogger(serviceName);
        AutoCloseable service;
        try {
            service = start.call();
        } catch (ConfigException e) {
            System.err.println(serviceName + ": cannot start: " + e.getMessage());
            System.exit(EXIT_START_FAILED);
            return;
        } catch (Exception e) {
            System.err.println(serviceName + ": cannot start: " + Causes.rootMessage(e));
            log.debug("start failed", e);
            System.exit(EXIT_START_FAILED);
            return;
        } catch (Error e) {
            // No native thread left, say: a thread the start did begin (an HTTP server's) would
            // otherwise keep the process up, serving, with the service not running.
            System.err.println(serviceName + ": cannot start: " + e);
            log.error("start failed", e);
            System.exit(EXIT_START_FAILED);
            return;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log.info("stopping");
            try {
                service.close();
            } catch (Exception e) {
                log.warn("did not stop cleanly: {}", e.getMessage());
            }
            log.info("stopped");
            stopped.countDown();
        }, serviceName + "-shutdown"));
        log.info(RUNNING);
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
