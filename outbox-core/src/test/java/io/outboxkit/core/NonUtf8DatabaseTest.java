package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.outboxkit.core.spi.MessagePublisher;
import io.outboxkit.testing.DatabaseSetup;
import io.outboxkit.testing.PostgresExtension;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The outbox in a database whose server encoding is not UTF8 (LATIN1, as legacy databases are):
 * a failure whose text has a character that encoding lacks must still be recorded, as the NUL
 * character is ({@code RetryAndDeadTest}), or the message is never DEAD and is retried forever.
 */
class NonUtf8DatabaseTest {

    /** Only the home from which the LATIN1 database is created (and dropped). */
    @RegisterExtension
    static final PostgresExtension home = new PostgresExtension(DatabaseSetup.EMPTY, 1);

    private static String latin1;
    private static HikariDataSource dataSource;
    private static Jdbi jdbi;

    @BeforeAll
    static void createLatin1Database() throws Exception {
        latin1 = "t_latin1_" + Long.toString(ThreadLocalRandom.current().nextLong() >>> 1, 36);
        home.jdbi().useHandle(h -> h.execute("CREATE DATABASE " + latin1
                + " ENCODING 'LATIN1' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'"));
        String url = home.jdbcUrl().replaceFirst("/(t_[a-z0-9_]+)(\\?|$)", "/" + latin1 + "$2");
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(url);
        config.setUsername(home.user());
        if (home.password() != null) {
            config.setPassword(home.password());
        }
        config.setMaximumPoolSize(4);
        dataSource = new HikariDataSource(config);
        Outbox.createTables(dataSource);
        jdbi = Jdbi.create(dataSource);
        String encoding = jdbi.withHandle(h -> h.createQuery("SHOW server_encoding").mapTo(String.class).one());
        assertThat(encoding).isEqualTo("LATIN1");
    }

    @AfterAll
    static void dropLatin1Database() {
        if (dataSource != null) {
            dataSource.close();
        }
        if (latin1 != null) {
            home.jdbi().useHandle(h -> h.execute("DROP DATABASE IF EXISTS " + latin1 + " WITH (FORCE)"));
        }
    }

    @BeforeEach
    void clean() {
        Outbox.clear(jdbi);
    }

    @ParameterizedTest(name = "claim mode: {0}")
    @EnumSource(ClaimMode.class)
    void a_failure_whose_text_latin1_cannot_store_is_recorded_and_counts_toward_dead_like_any_other(ClaimMode mode) {
        List<UUID> ids = Outbox.write(jdbi, 2, 1); // two aggregates, one message each
        UUID failing = ids.get(1);
        // A consumer's error body with typographic quotes (U+2018, U+2019): not in LATIN1.
        MessagePublisher refusing = m -> {
            if (m.id().equals(failing)) {
                throw new IllegalStateException("consumer answered 422: amount \u2018-5\u2019 is negative");
            }
        };
        RecordingListener listener = new RecordingListener();
        OutboxPoller poller = OutboxPoller.builder(jdbi, refusing).claimMode(mode).maxAttempts(1)
                .addListener(listener).build();

        poller.pollOnce();

        assertThat(listener.pollFailures).as("recording the failure is not a poll error").isEmpty();
        assertThat(row(failing)).containsEntry("status", "DEAD").containsEntry("attempts", 1)
                .containsEntry("last_error", "IllegalStateException: consumer answered 422: amount \\u2018-5\\u2019 is negative");
        assertThat(row(ids.get(0))).as("the batch's other message").containsEntry("status", "PUBLISHED");
    }

    private static Map<String, Object> row(UUID id) {
        return jdbi.withHandle(h -> h.createQuery("SELECT status, attempts, last_error FROM outbox WHERE id = ?")
                .bind(0, id).mapToMap().one());
    }
}
