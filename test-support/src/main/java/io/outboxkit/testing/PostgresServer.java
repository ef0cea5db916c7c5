package io.outboxkit.testing;

/**
 * A PostgreSQL server the tests may create and drop databases on.
 *
 * @param adminUrl a JDBC URL of an existing database on the server, used to create the others
 * @param user     the user to connect as, or null when the URL carries it
 * @param password the password, or null when the URL carries it (or none is needed)
 * @param source   where the server came from, for the log
 */
record PostgresServer(String adminUrl, String user, String password, String source) {

    /** The JDBC URL of database {@code name} on this server, with the admin URL's parameters. */
    String urlOf(String name) {
        return JdbcUrls.withDatabase(adminUrl, name);
    }
}
