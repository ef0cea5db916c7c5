package io.outboxkit.devpostgres;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import javax.sql.DataSource;

/** Creates the services' role and database when they are missing; leaves existing ones alone. */
final class Bootstrap {

    private Bootstrap() {
    }

    /** Connects through {@code superuser} (a superuser's data source) and creates what is missing. */
    static void ensureRoleAndDatabase(DataSource superuser) throws SQLException {
        try (Connection connection = superuser.getConnection(); Statement statement = connection.createStatement()) {
            if (!exists(connection, "SELECT 1 FROM pg_roles WHERE rolname = ?", DevPostgres.ROLE)) {
                statement.execute("CREATE ROLE " + DevPostgres.ROLE + " LOGIN PASSWORD '" + DevPostgres.PASSWORD + "'");
            }
            if (!exists(connection, "SELECT 1 FROM pg_database WHERE datname = ?", DevPostgres.DATABASE)) {
                statement.execute("CREATE DATABASE " + DevPostgres.DATABASE + " OWNER " + DevPostgres.ROLE);
            }
        }
    }

    private static boolean exists(Connection connection, String query, String name) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement(query)) {
            statement.setString(1, name);
            try (ResultSet rs = statement.executeQuery()) {
                return rs.next();
            }
        }
    }
}
