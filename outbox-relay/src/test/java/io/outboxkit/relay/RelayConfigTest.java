package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.app.ConfigException;
import io.outboxkit.app.Env;
import io.outboxkit.app.ServiceSettings;
import io.outboxkit.app.delivery.Delivery;
import io.outboxkit.core.ClaimMode;
import java.net.URI;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The relay's settings: documented defaults, and one message naming the variable for every bad value. */
class RelayConfigTest {

    @Test
    void defaults() {
        RelayConfig config = RelayConfig.from(Env.of(Map.of()));

        assertThat(config.consumerUrl()).isEqualTo(URI.create("http://localhost:8081/messages"));
        assertThat(config.delivery()).isEqualTo(Delivery.BATCH);
        assertThat(config.claimMode()).isEqualTo(ClaimMode.LEASE);
        assertThat(config.deleteOnPublish()).isFalse();
        assertThat(config.service()).isEqualTo(new ServiceSettings("127.0.0.1", 8082, 5));
        assertThat(config.relayName()).isNull();
        assertThat(config.batchSize()).isEqualTo(100);
        assertThat(config.workers()).isEqualTo(2);
        assertThat(config.pollInterval()).isEqualTo(Duration.ofSeconds(1));
        assertThat(config.maxAttempts()).isEqualTo(10);
        assertThat(config.lease()).isEqualTo(Duration.ofSeconds(30));
        assertThat(config.httpTimeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(config.statementTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(config.maxInFlight()).isEqualTo(16);
        assertThat(config.initialBackoff()).isEqualTo(Duration.ofSeconds(1));
        assertThat(config.maxBackoff()).isEqualTo(Duration.ofMinutes(5));
        assertThat(config.ordered()).isTrue();
        assertThat(config.deadBlocksAggregate()).isTrue();
        assertThat(config.publishedRetention()).isEqualTo(Duration.ofDays(7));
        assertThat(config.dedupWindow()).isEqualTo(Duration.ofDays(30));
        assertThat(config.retentionInterval()).isEqualTo(Duration.ofMinutes(1));
        assertThat(config.retentionVacuum()).isFalse();
    }

    @Test
    void settings_are_read_from_their_variables() {
        RelayConfig config = RelayConfig.from(Env.of(Map.of("CONSUMER_URL", "https://loyalty.internal/messages",
                "RELAY_NAME", "relay-1", "BATCH_SIZE", "500", "ORDERED", "false", "DEAD_BLOCKS_AGGREGATE", "no",
                "LEASE_MS", "60000", "HTTP_TIMEOUT_MS", "10000", "CLAIM_MODE", "Lock", "RETENTION_PUBLISHED_MS", "0",
                "STATEMENT_TIMEOUT_MS", "2500")));

        assertThat(config.consumerUrl()).isEqualTo(URI.create("https://loyalty.internal/messages"));
        assertThat(config.relayName()).isEqualTo("relay-1");
        assertThat(config.batchSize()).isEqualTo(500);
        assertThat(config.ordered()).isFalse();
        assertThat(config.deadBlocksAggregate()).isFalse();
        assertThat(config.lease()).isEqualTo(Duration.ofMinutes(1));
        assertThat(config.httpTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(config.statementTimeout()).isEqualTo(Duration.ofMillis(2500));
        assertThat(config.claimMode()).isEqualTo(ClaimMode.LOCK);
        assertThat(config.deleteOnPublish()).as("keeping published messages 0 ms deletes them on delivery").isTrue();
    }

    @Test
    void the_default_pool_has_a_connection_for_each_worker_and_three_more() {
        assertThat(RelayConfig.from(Env.of(Map.of("WORKERS", "8"))).service().poolSize()).isEqualTo(11);
        assertThat(RelayConfig.from(Env.of(Map.of("WORKERS", "8", "DB_POOL_SIZE", "11"))).service().poolSize())
                .isEqualTo(11);
    }

    @ParameterizedTest(name = "{0}={1} -> \"{2}...\"")
    @CsvSource(delimiter = '|', textBlock = """
            BATCH_SIZE            | 0            | BATCH_SIZE=0 is not a whole number from 1 to 10000
            BATCH_SIZE            | 10001        | BATCH_SIZE=10001 is not a whole number from 1 to 10000
            BATCH_SIZE            | lots         | BATCH_SIZE=lots is not a whole number
            LEASE_MS              | 5000         | LEASE_MS=5000 must exceed HTTP_TIMEOUT_MS=5000
            LEASE_MS              | 1000         | LEASE_MS=1000 must exceed HTTP_TIMEOUT_MS=5000
            HTTP_TIMEOUT_MS       | 0            | HTTP_TIMEOUT_MS=0 is not a number of milliseconds
            STATEMENT_TIMEOUT_MS  | 0            | STATEMENT_TIMEOUT_MS=0 is not a number of milliseconds
            STATEMENT_TIMEOUT_MS  | 2147483648   | STATEMENT_TIMEOUT_MS=2147483648 is not a number of milliseconds
            CONSUMER_URL          | ftp://x/y    | CONSUMER_URL=ftp://x/y is not an http:// or https:// URL
            CONSUMER_URL          | not a url    | CONSUMER_URL=not a url is not an http:// or https:// URL
            CONSUMER_URL          | http:///path | CONSUMER_URL=http:///path is not an http:// or https:// URL
            CONSUMER_URL          | http://u:s3cret@h/m | CONSUMER_URL=http://...@h/m has a user name or password in it
            CONSUMER_URL          | http://h:99999/m | CONSUMER_URL=http://h:99999/m has port 99999: a port is 1 to 65535
            CONSUMER_URL          | http://h:0/m | CONSUMER_URL=http://h:0/m has port 0
            CONSUMER_URL          | ftp://u:s3cret@h/m | CONSUMER_URL=ftp://...@h/m is not an http:// or https:// URL
            PORT                  | 70000        | PORT=70000 is not a whole number from 0 to 65535
            ADMIN_HOST            | x.invalid    | ADMIN_HOST=x.invalid is not an address or a host name that resolves
            DB_POOL_SIZE          | 4            | DB_POOL_SIZE=4 must be at least WORKERS + 3 = 5
            DB_POOL_SIZE          | 201          | DB_POOL_SIZE=201 is not a whole number from 1 to 200
            MAX_ATTEMPTS          | 0            | MAX_ATTEMPTS=0 is not a whole number
            POLL_INTERVAL_MS      | -1           | POLL_INTERVAL_MS=-1 is not a number of milliseconds
            BACKOFF_MAX_MS        | 500          | BACKOFF_MAX_MS=500 must not be less than BACKOFF_INITIAL_MS=1000
            ORDERED               | maybe        | ORDERED=maybe is not on or off (nor true or false, yes or no, 1 or 0)
            DELIVERY              | bulk         | DELIVERY=bulk is not batch or single
            CLAIM_MODE            | locked       | CLAIM_MODE=locked is not lease or lock
            WORKERS               | 0            | WORKERS=0 is not a whole number from 1 to 64
            MAX_IN_FLIGHT         | 0            | MAX_IN_FLIGHT=0 is not a whole number
            RETENTION_DEDUP_MS    | 60000        | RETENTION_DEDUP_MS=60000 must exceed the longest time a message may be redelivered
            RETENTION_INTERVAL_MS | 0            | RETENTION_INTERVAL_MS=0 is not a number of milliseconds
            """)
    void a_bad_value_is_refused_with_a_message_naming_the_variable(String variable, String value, String message) {
        Map<String, String> env = new HashMap<>();
        env.put(variable, value);

        assertThatThrownBy(() -> RelayConfig.from(Env.of(env)))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(message);
    }

    @Test
    void the_dedup_window_must_outlast_the_whole_retry_schedule() {
        assertThat(RelayConfig.longestRedeliverySpan(3, Duration.ofSeconds(1), Duration.ofSeconds(10), Duration.ofSeconds(30)))
                .as("three leases, and the backoffs of 1 s and 2 s between them")
                .isEqualTo(Duration.ofSeconds(93));
        assertThat(RelayConfig.longestRedeliverySpan(1_000, Duration.ofDays(1), Duration.ofDays(1), Duration.ofDays(1)))
                .isEqualTo(Duration.ofDays(1_999));
    }
}
