/**
 * outbox-core: the transactional outbox for PostgreSQL. Exports its API ({@code io.outboxkit.core}),
 * the extension points an application implements ({@code io.outboxkit.core.spi}) and the
 * workaround for the PostgreSQL driver that a connection pool names ({@code
 * io.outboxkit.core.workaround}); {@code io.outboxkit.core.internal} is not exported.
 */
@SuppressWarnings({"requires-automatic", "requires-transitive-automatic"}) // the OpenTelemetry API names its modules in its manifests only
module io.outboxkit.core {
    requires transitive java.sql;
    requires transitive org.jdbi.v3.core;
    requires org.postgresql.jdbc;
    requires org.slf4j;
    requires com.fasterxml.jackson.core;
    requires transitive io.opentelemetry.api;
    requires io.opentelemetry.context;

    exports io.outboxkit.core;
    exports io.outboxkit.core.spi;
    exports io.outboxkit.core.workaround;
}
