package io.outboxkit.kafka;

import io.outboxkit.core.InvalidOptionException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.apache.kafka.clients.admin.AdminClientConfig;

/**
 * The checks the builders share: extra client properties that may pass through (security settings,
 * tuning) but never replace what the guarantees rest on, and durations within bounds.
 */
final class ClientProperties {

    private ClientProperties() {
    }

    /**
     * Adds {@code name=value} to {@code extra} unless {@code name} is one the builder owns.
     *
     * @param owned the properties the builder sets itself, each with the builder option (or the
     *              reason) to name in the refusal
     */
    static void put(Map<String, Object> extra, String name, Object value, Map<String, String> owned) {
        Objects.requireNonNull(name, "property name");
        Objects.requireNonNull(value, () -> "the value of property " + name);
        String reason = owned.get(name);
        if (reason != null) {
            throw new InvalidOptionException("property", "property " + name + " cannot be passed through: " + reason);
        }
        extra.put(name, value);
    }

    /** The properties an admin client (the publisher's and source's connection check) understands. */
    static Map<String, Object> forAdmin(Map<String, Object> clientProperties) {
        Set<String> known = AdminClientConfig.configNames();
        Map<String, Object> admin = new LinkedHashMap<>();
        clientProperties.forEach((name, value) -> {
            if (known.contains(name)) {
                admin.put(name, value);
            }
        });
        return admin;
    }

    /** Requires {@code value} to be within {@code min}..{@code max}; names {@code option} otherwise. */
    static Duration within(String option, Duration value, Duration min, Duration max) {
        Objects.requireNonNull(value, option);
        if (value.compareTo(min) < 0 || value.compareTo(max) > 0) {
            throw new InvalidOptionException(option, option + " must be from " + min.toMillis() + " ms to " + max.toMillis()
                    + " ms, not " + value.toMillis() + " ms");
        }
        return value;
    }

    /** Requires a non-blank value; names {@code option} otherwise. */
    static String notBlank(String option, String value) {
        if (value == null || value.isBlank()) {
            throw new InvalidOptionException(option, option + " must not be blank");
        }
        return value.trim();
    }
}
