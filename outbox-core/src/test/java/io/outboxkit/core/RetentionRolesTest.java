package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Retention run by a relay's role of its own, with only the grants it was given, the tables owned
 * by the role that migrated them (here the test's superuser) unless a test hands one over.
 */
class RetentionRolesTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(Outbox::createTables);

    private static final String ROLE = "retention_roles_relay";

    private final List<HikariDataSource> pools = new ArrayList<>();

    @BeforeEach
    void aFreshRole() {
        Outbox.clear(db.jdbi());
        db.jdbi().useHandle(h -> {
            h.execute("DROP ROLE IF EXISTS " + ROLE);
            h.execute("CREATE ROLE " + ROLE + " LOGIN");
        });
    }

    @AfterEach
    void dropTheRole() {
        pools.forEach(HikariDataSource::close);
        db.jdbi().useHandle(h -> {
            h.execute("REASSIGN OWNED BY " + ROLE + " TO current_user");
            h.execute("DROP OWNED BY " + ROLE);
            h.execute("DROP ROLE " + ROLE);
        });
    }

    @AfterAll
    static void noRoleLeft() {
        db.jdbi().useHandle(h -> h.execute("DROP ROLE IF EXISTS " + ROLE));
    }

    /** The role, granted {@code grants} (each "PRIVILEGES ON object"). */
    private Jdbi as(String... grants) {
        db.jdbi().useHandle(h -> {
            for (String grant : grants) {
                h.execute("GRANT " + grant + " TO " + ROLE);
            }
        });
        String url = db.jdbcUrl().replaceAll("([?&])user=[^&]*&?", "$1").replaceAll("[?&]$", "");
        HikariDataSource pool = db.newPool(4, config -> {
            config.setJdbcUrl(url);
            config.setUsername(ROLE);
            config.setPassword(null);
        });
        pools.add(pool);
        return Jdbi.create(pool);
    }

    private static void publishedLongAgo(List<UUID> ids) {
        db.jdbi().useHandle(h -> h.execute("UPDATE outbox SET status = 'PUBLISHED', created_at = now() - interval '2 days', "
                + "published_at = now() - interval '2 days' WHERE id = ANY(?)", (Object) ids.toArray(UUID[]::new)));
    }

    private static long vacuumCount() {
        return db.jdbi().withHandle(h -> h.createQuery(
                "SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'outbox'").mapTo(Long.class).one());
    }

    @Test
    void retention_with_vacuum_as_a_role_that_does_not_own_the_outbox_says_the_vacuum_was_skipped() {
        publishedLongAgo(Outbox.write(db.jdbi(), 50, 1));
        Jdbi relay = as("SELECT, UPDATE, DELETE ON outbox", "SELECT, UPDATE, DELETE ON processed_messages");

        OutboxRetention.Result result = OutboxRetention.builder(relay)
                .publishedRetention(Duration.ofDays(1)).vacuum(true).build().runOnce();

        assertThat(result.publishedMessages()).isEqualTo(50);
        // PostgreSQL only warns that it skipped the table: the run must not pass that off as a VACUUM.
        assertThat(result.vacuumSkipped()).as("the tables whose VACUUM was skipped").containsExactly(OutboxNames.DEFAULT.qualifiedOutboxTable());
    }

    @Test
    void a_relay_role_without_grants_on_processed_messages_still_has_its_outbox_vacuumed_by_retention() {
        // The relay's role owns the outbox (so that it may vacuum it) but, consuming nothing, has no
        // grant on processed_messages: the consumer trims that in its own database.
        publishedLongAgo(Outbox.write(db.jdbi(), 50, 1));
        db.jdbi().useHandle(h -> h.execute("ALTER TABLE outbox OWNER TO " + ROLE));
        Jdbi relay = as();
        long before = vacuumCount();

        assertThatThrownBy(() -> OutboxRetention.builder(relay).publishedRetention(Duration.ofDays(1)).vacuum(true).build().runOnce())
                .as("the records it may not trim: said, with what was done")
                .isInstanceOf(OutboxException.class)
                .hasMessageContaining("processed_messages")
                .hasMessageContaining("50 published outbox message(s) deleted");

        assertThat(Outbox.total(db.jdbi())).as("the published messages were deleted").isZero();
        await("the outbox retention deleted from is vacuumed").atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                assertThat(vacuumCount()).isGreaterThan(before));
    }
}
