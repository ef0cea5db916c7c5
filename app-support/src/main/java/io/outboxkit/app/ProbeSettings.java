package io.outboxkit.app;

import java.time.Duration;
import java.util.Objects;

/**
 * How a service behaves toward an orchestrator's probes, read by the same rules in every service:
 * {@code HEALTH_PORT}, a port of their own for the health checks, served by threads of their own so
 * that requests queued for the service's threads never delay a probe; and {@code SHUTDOWN_DELAY_MS},
 * how long a stopping service keeps serving with {@code /health/ready} answering 503
 * {@code "stopping"} before it drains and stops (time for a load balancer or Kubernetes' endpoints
 * to stop sending it requests).
 *
 * @param healthPort    0 to {@value ServiceSettings#MAX_PORT} (0 picks a free one, for tests), or
 *                      {@link #NO_HEALTH_PORT}: the checks are served on the service's port only
 * @param shutdownDelay 0 to {@value #MAX_SHUTDOWN_DELAY_MS} ms; 0 drains at once
 */
public record ProbeSettings(int healthPort, Duration shutdownDelay) {

    /** No port of their own for the health checks (the default {@code HEALTH_PORT}, unset). */
    public static final int NO_HEALTH_PORT = -1;

    /** The default {@code SHUTDOWN_DELAY_MS}: 0, so a stop under run.sh or in tests is not slowed. */
    public static final Duration DEFAULT_SHUTDOWN_DELAY = Duration.ZERO;
    /** The longest {@code SHUTDOWN_DELAY_MS}: 2 minutes, beyond any orchestrator's usual grace period. */
    public static final long MAX_SHUTDOWN_DELAY_MS = 120_000;
    /** The defaults: no health port of their own, no delay. */
    public static final ProbeSettings DEFAULT = new ProbeSettings(NO_HEALTH_PORT, DEFAULT_SHUTDOWN_DELAY);

    /**
     * Checks the ranges.
     *
     * @throws IllegalArgumentException when the port or the delay is out of range
     */
    public ProbeSettings {
        if (healthPort < NO_HEALTH_PORT || healthPort > ServiceSettings.MAX_PORT) {
            throw new IllegalArgumentException("healthPort must be " + NO_HEALTH_PORT + " to " + ServiceSettings.MAX_PORT
                    + ", was " + healthPort);
        }
        Objects.requireNonNull(shutdownDelay, "shutdownDelay");
        if (shutdownDelay.isNegative() || shutdownDelay.toMillis() > MAX_SHUTDOWN_DELAY_MS) {
            throw new IllegalArgumentException("shutdownDelay must be 0 to " + MAX_SHUTDOWN_DELAY_MS + " ms, was "
                    + shutdownDelay);
        }
    }

    /**
     * Reads {@code HEALTH_PORT} (unset: {@link #NO_HEALTH_PORT}) and {@code SHUTDOWN_DELAY_MS}
     * (default {@link #DEFAULT_SHUTDOWN_DELAY}) for a service listening where {@code service} says.
     *
     * @throws ConfigException naming the variable when it is out of range or not a number, or when
     *                         {@code HEALTH_PORT} is the service's {@code PORT}
     */
    public static ProbeSettings from(Env env, ServiceSettings service) {
        int healthPort = env.integer("HEALTH_PORT", NO_HEALTH_PORT, 0, ServiceSettings.MAX_PORT);
        if (healthPort != 0 && healthPort == service.port()) {
            throw new ConfigException("HEALTH_PORT=" + healthPort + " is PORT too: give the health checks a port of their "
                    + "own, or leave HEALTH_PORT unset to serve them on PORT only");
        }
        return new ProbeSettings(healthPort,
                env.millis("SHUTDOWN_DELAY_MS", DEFAULT_SHUTDOWN_DELAY, 0, MAX_SHUTDOWN_DELAY_MS));
    }

    /** Whether the health checks have a port of their own. */
    public boolean hasHealthPort() {
        return healthPort != NO_HEALTH_PORT;
    }
}
