package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import org.jdbi.v3.core.Jdbi;
import io.outboxkit.testing.PostgresExtension;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A connection pooler in transaction mode (PgBouncer's usual setting) hands each transaction
 * whichever server connection is free, so a statement prepared on one is missing on the next (or
 * already there under another client's name). Its documentation and the driver's say
 * {@code prepareThreshold=0} for it: no statement is then prepared on the server, and the poller
 * keeps to that, where it asked for its claim and its records to be prepared at their first use.
 */
class PrepareThresholdTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(Outbox::createTables);

    @BeforeEach
    void clean() {
        Outbox.clear(db.jdbi());
    }

    @ParameterizedTest
    @EnumSource(ClaimMode.class)
    void a_poller_on_connections_with_prepare_threshold_0_prepares_no_statement_on_the_server(ClaimMode mode)
            throws Exception {
        Outbox.write(db.jdbi(), 5, 2);
        try (HikariDataSource oneConnection = db.newPool(1, c -> c.addDataSourceProperty("prepareThreshold", "0"))) {
            OutboxPoller poller = OutboxPoller.builder(Jdbi.create(oneConnection), message -> { })
                    .claimMode(mode).batchSize(4).build();
            while (poller.pollOnce() > 0) {
                // every batch, so that each statement runs more than once
            }
            assertThat(Outbox.count(db.jdbi(), "PUBLISHED")).isEqualTo(10);

            try (Connection connection = oneConnection.getConnection(); Statement look = connection.createStatement();
                 ResultSet prepared = look.executeQuery("SELECT string_agg(statement, ' | ') FROM pg_prepared_statements")) {
                prepared.next();
                assertThat(prepared.getString(1)).as("statements prepared on the poller's server session").isNull();
            }
        }
    }
}
