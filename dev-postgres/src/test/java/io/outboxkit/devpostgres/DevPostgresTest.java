package io.outboxkit.devpostgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.testing.FreePorts;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The development database: the services' role and database with the schema, data that survives
 * a restart, and a clear refusal of a port already taken. Runs a real embedded PostgreSQL (as
 * root, zonky runs it in a user namespace).
 */
class DevPostgresTest {

    @TempDir
    Path dataDir;

    @Test
    void the_services_can_log_in_and_own_their_database() throws Exception {
        try (DevPostgres postgres = DevPostgres.start(new DevPostgresSettings(FreePorts.pick(), dataDir))) {
            try (Connection c = connectAsOutbox(postgres); Statement s = c.createStatement()) {
                assertThat(single(s, "SELECT current_user")).isEqualTo("outbox");
                assertThat(single(s, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'outbox'"))
                        .isEqualTo("outbox");
                assertThat(single(s, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"))
                        .as("empty: each service creates its own tables").isEqualTo("0");
                s.execute("CREATE TABLE created_by_a_service (id int)"); // the role may create tables
            }
            assertThat(postgres.jdbcUrl()).isEqualTo("jdbc:postgresql://localhost:" + postgres.port() + "/outbox");
        }
    }

    @Test
    void data_survives_a_restart_on_the_same_data_directory() throws Exception {
        int port = FreePorts.pick();
        try (DevPostgres postgres = DevPostgres.start(new DevPostgresSettings(port, dataDir));
             Connection c = connectAsOutbox(postgres); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE kept (id uuid PRIMARY KEY)");
            s.execute("INSERT INTO kept VALUES (gen_random_uuid())");
        }
        try (DevPostgres again = DevPostgres.start(new DevPostgresSettings(port, dataDir));
             Connection c = connectAsOutbox(again); Statement s = c.createStatement()) {
            assertThat(single(s, "SELECT count(*) FROM kept")).isEqualTo("1");
            assertThat(single(s, "SELECT count(*) FROM pg_roles WHERE rolname = 'outbox'")).isEqualTo("1");
        }
    }

    @Test
    void a_port_already_taken_is_refused_with_exit_status_2() throws Exception {
        try (ServerSocket taken = new ServerSocket(0)) {
            DevPostgresSettings settings = new DevPostgresSettings(taken.getLocalPort(), dataDir);

            assertThatThrownBy(() -> DevPostgres.start(settings))
                    .isInstanceOf(DevPostgresException.class)
                    .hasMessageStartingWith("port " + taken.getLocalPort() + " is already in use")
                    .extracting(e -> ((DevPostgresException) e).exitStatus()).isEqualTo(2);
        }
    }

    @Test
    void stop_frees_the_port() throws Exception {
        int port = FreePorts.pick();
        DevPostgres.start(new DevPostgresSettings(port, dataDir)).close();

        DevPostgres.requirePortFree(new DevPostgresSettings(port, dataDir));
    }

    static Connection connectAsOutbox(DevPostgres postgres) throws SQLException {
        return DriverManager.getConnection(postgres.jdbcUrl(), DevPostgres.ROLE, DevPostgres.PASSWORD);
    }

    static String single(Statement statement, String query) throws SQLException {
        try (ResultSet rs = statement.executeQuery(query)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
