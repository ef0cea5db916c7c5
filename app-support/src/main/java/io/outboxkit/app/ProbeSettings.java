package io.outboxkit.app;

import java.time.Duration;
import java.util.Objects;

/**
 * How a service behaves toward an orchestrator's probes, read by the same rules in every service:
 * {@code SHUTDOWN_DELAY_MS}, how long a stopping service keeps serving with {@code /health/ready}
 * answering 503 {@code "stopping"} before it drains and stops (time for a load balancer or
 * Kubernetes' endpoints to stop sending it requests).
 *
 * @param shutdownDelay 0 to {@value #MAX_SHUTDOWN_DELAY_MS} ms; 0 drains at once
 */
public record ProbeSettings(Duration shutdownDelay) {

    /** The default {@code SHUTDOWN_DELAY_MS}: 0, so a stop under run.sh or in tests is not slowed. */
    public static final Duration DEFAULT_SHUTDOWN_DELAY = Duration.ZERO;
    /** The longest {@code SHUTDOWN_DELAY_MS}: 2 minutes, beyond any orchestrator's usual grace period. */
    public static final long MAX_SHUTDOWN_DELAY_MS = 120_000;
    /** The defaults: no delay. */
    public static final ProbeSettings DEFAULT = new ProbeSettings(DEFAULT_SHUTDOWN_DELAY);

    /**
     * Checks the range.
     *
     * @throws IllegalArgumentException when the delay is negative or above the maximum
     */
    public ProbeSettings {
        Objects.requireNonNull(shutdownDelay, "shutdownDelay");
        if (shutdownDelay.isNegative() || shutdownDelay.toMillis() > MAX_SHUTDOWN_DELAY_MS) {
            throw new IllegalArgumentException("shutdownDelay must be 0 to " + MAX_SHUTDOWN_DELAY_MS + " ms, was "
                    + shutdownDelay);
        }
    }

    /**
     * Reads {@code SHUTDOWN_DELAY_MS}, default {@link #DEFAULT_SHUTDOWN_DELAY}.
     *
     * @throws ConfigException naming the variable when it is not a number of milliseconds in range
     */
    public static ProbeSettings from(Env env) {
        return new ProbeSettings(env.millis("SHUTDOWN_DELAY_MS", DEFAULT_SHUTDOWN_DELAY, 0, MAX_SHUTDOWN_DELAY_MS));
    }
}
