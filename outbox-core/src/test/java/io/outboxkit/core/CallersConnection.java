package io.outboxkit.core;

import java.sql.Connection;
import org.jdbi.v3.core.ConnectionFactory;
import org.jdbi.v3.core.Jdbi;

/** A {@link Jdbi} whose every handle is on one connection the test holds, as one bound to a caller's transaction. */
final class CallersConnection {

    private CallersConnection() {
    }

    /** A Jdbi handing out {@code connection}, which it never closes: the caller does. */
    static Jdbi jdbiOn(Connection connection) {
        return Jdbi.create(new ConnectionFactory() {
            @Override
            public Connection openConnection() {
                return connection;
            }

            @Override
            public void closeConnection(Connection toClose) {
                // the caller's connection: it closes it
            }
        });
    }
}
