package io.outboxkit.relay;

import io.outboxkit.app.Env;
import java.util.HashMap;
import java.util.Map;

/**
 * Relay settings for tests: quick polling and backoff, the admin server on a free port, and one
 * request per message ({@code DELIVERY=single}, what most tests look at; {@link BatchDeliveryTest}
 * sets {@code batch}).
 */
final class TestRelays {

    private TestRelays() {
    }

    /** The test settings for delivering to {@code consumerUrl}, with {@code overrides} (NAME, value, ...) on top. */
    static RelayConfig config(String consumerUrl, String... overrides) {
        Map<String, String> env = new HashMap<>(Map.of(
                "CONSUMER_URL", consumerUrl,
                "DELIVERY", "single",
                "PORT", "0",
                "POLL_INTERVAL_MS", "100",
                "BACKOFF_INITIAL_MS", "50",
                "BACKOFF_MAX_MS", "200",
                "HTTP_TIMEOUT_MS", "2000",
                "LEASE_MS", "10000"));
        for (int i = 0; i < overrides.length; i += 2) {
            env.put(overrides[i], overrides[i + 1]);
        }
        return RelayConfig.from(Env.of(env));
    }
}
