package io.outboxkit.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.SQLException;
import org.jdbi.v3.core.ConnectionFactory;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The library's own units of work commit what they mean to whatever auto-commit setting a
 * connection comes with, and give it back with that setting. One connection, never closed between
 * uses, stands for a pool that does not reset what its borrowers changed.
 */
class OwnConnectionsTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(
            dataSource -> Jdbi.create(dataSource).useHandle(h -> h.execute("CREATE TABLE marks (n int NOT NULL)")), 2);

    private Connection connection;
    private Jdbi jdbi;

    @BeforeEach
    void one_connection_kept_open() throws SQLException {
        db.jdbi().useHandle(h -> h.execute("TRUNCATE marks"));
        connection = db.dataSource().getConnection();
        jdbi = Jdbi.create(new ConnectionFactory() {
            @Override
            public Connection openConnection() {
                return connection;
            }

            @Override
            public void closeConnection(Connection toClose) {
            }
        });
    }

    @AfterEach
    void close() throws SQLException {
        connection.close();
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void an_auto_committing_handle_commits_each_statement_and_gives_the_connection_back_as_it_came(boolean autoCommit)
            throws SQLException {
        connection.setAutoCommit(autoCommit);

        try (Handle handle = OwnConnections.autoCommitting(jdbi)) {
            handle.execute("INSERT INTO marks VALUES (1)");
        }

        assertThat(committedMarks()).isEqualTo(1);
        assertThat(connection.getAutoCommit()).as("the connection's own setting").isEqualTo(autoCommit);
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void in_transaction_commits_its_work_and_gives_the_connection_back_as_it_came(boolean autoCommit) throws SQLException {
        connection.setAutoCommit(autoCommit);

        OwnConnections.inTransaction(jdbi, h -> h.execute("INSERT INTO marks VALUES (1)")
                + h.execute("INSERT INTO marks VALUES (2)"));

        assertThat(committedMarks()).isEqualTo(2);
        assertThat(connection.getAutoCommit()).as("the connection's own setting").isEqualTo(autoCommit);
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void in_transaction_rolls_back_all_its_work_when_it_throws(boolean autoCommit) throws SQLException {
        connection.setAutoCommit(autoCommit);

        assertThatThrownBy(() -> OwnConnections.inTransaction(jdbi, h -> {
            h.execute("INSERT INTO marks VALUES (1)");
            throw new IllegalStateException("the work failed");
        })).hasMessage("the work failed");

        assertThat(committedMarks()).isZero();
        OwnConnections.inTransaction(jdbi, h -> h.execute("INSERT INTO marks VALUES (2)"));
        assertThat(committedMarks()).as("the next unit of work commits alone").isEqualTo(1);
        assertThat(connection.getAutoCommit()).as("the connection's own setting").isEqualTo(autoCommit);
    }

    private static long committedMarks() {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM marks").mapTo(Long.class).one());
    }
}
