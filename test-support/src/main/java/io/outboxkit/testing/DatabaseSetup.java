package io.outboxkit.testing;

import javax.sql.DataSource;

/**
 * What a test class's fresh database gets before its first test: the tables the code under test
 * needs (outbox-core's schema, a service's own migrations, or nothing).
 */
@FunctionalInterface
public interface DatabaseSetup {

    /** Nothing: an empty database, for tests of the migrations themselves. */
    DatabaseSetup EMPTY = dataSource -> { };

    /** Creates the tables in the database behind {@code dataSource}. */
    void apply(DataSource dataSource) throws Exception;
}
