package io.outboxkit.core;

import io.outboxkit.core.spi.Causes;
import java.sql.SQLException;

/** Transactions PostgreSQL aborted for meeting another's: worth running again, not a failure of the database. */
final class Conflicts {

    private static final String DEADLOCK = "40P01";
    private static final String SERIALIZATION_FAILURE = "40001";

    private Conflicts() {
    }

    /** Whether PostgreSQL aborted the transaction of {@code e} as a deadlock victim or a serialization failure. */
    static boolean abortedByConflict(Throwable e) {
        for (Throwable t : Causes.chain(e)) {
            if (t instanceof SQLException failure && (DEADLOCK.equals(failure.getSQLState())
                    || SERIALIZATION_FAILURE.equals(failure.getSQLState()))) {
                return true;
            }
        }
        return false;
    }
}
