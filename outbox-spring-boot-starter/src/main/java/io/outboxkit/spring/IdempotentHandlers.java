package io.outboxkit.spring;

import io.opentelemetry.api.OpenTelemetry;
import io.outboxkit.core.IdempotentHandler;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.spi.MessageHandler;
import io.outboxkit.core.spi.OutboxListener;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import javax.sql.DataSource;
import org.jdbi.v3.core.Jdbi;

/**
 * Creates the {@link IdempotentHandler}s of a consumer written in Spring: each applies a message at
 * most once per consumer name, its effect and the record that it was processed committing in one
 * transaction, on the application's DataSource and the outbox's table names.
 *
 * <p>That transaction is the handler's own, not a Spring transaction: {@link IdempotentHandler}
 * begins it, retries it when PostgreSQL aborts it as a deadlock victim, and undoes a failed message
 * of a batch alone under a savepoint, none of which could work inside a transaction it does not
 * own. So the effect must be written through the {@code Handle} the {@link MessageHandler} is given
 * (its {@code getConnection()} serves a {@code JdbcTemplate} too:
 * {@code new JdbcTemplate(new SingleConnectionDataSource(handle.getConnection(), true))}); a JPA
 * repository or a {@code @Transactional} service called from the handler would commit apart from
 * the record, and a caller's own transaction is not joined. Thread-safe.
 */
public final class IdempotentHandlers {

    private final Jdbi jdbi;
    private final OutboxNames names;
    private final String defaultConsumer;
    private final List<OutboxListener> listeners;
    private final OpenTelemetry openTelemetry;
    private final Duration idleInTransactionTimeout;

    private IdempotentHandlers(Jdbi jdbi, OutboxNames names, String defaultConsumer, List<OutboxListener> listeners,
                               OpenTelemetry openTelemetry, Duration idleInTransactionTimeout) {
        this.jdbi = jdbi;
        this.names = names;
        this.defaultConsumer = defaultConsumer;
        this.listeners = listeners;
        this.openTelemetry = openTelemetry;
        this.idleInTransactionTimeout = idleInTransactionTimeout;
    }

    /**
     * Handlers over {@code dataSource}, recording in the processed-messages table that {@code names}
     * name, under {@code defaultConsumer} unless told another name (null: every handler must be
     * given its name).
     */
    public static IdempotentHandlers of(DataSource dataSource, OutboxNames names, String defaultConsumer) {
        return of(dataSource, names, defaultConsumer, List.of());
    }

    /**
     * As {@link #of(DataSource, OutboxNames, String)}, each handler also telling {@code listeners}
     * what it does with each message (processed, duplicate, failed: the consumer's metrics); the
     * starter passes the application's {@link OutboxListener} beans.
     */
    public static IdempotentHandlers of(DataSource dataSource, OutboxNames names, String defaultConsumer,
                                        List<OutboxListener> listeners) {
        Objects.requireNonNull(dataSource, "dataSource");
        Objects.requireNonNull(names, "names");
        return new IdempotentHandlers(Jdbi.create(dataSource), names, defaultConsumer, List.copyOf(listeners), null,
                IdempotentHandler.DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT);
    }

    /**
     * These handlers, each making its CONSUMER spans with {@code openTelemetry} instead of the
     * global one (see {@link IdempotentHandler#withOpenTelemetry}); the starter passes the
     * application's {@code OpenTelemetry} bean. These handlers are unchanged.
     */
    public IdempotentHandlers withOpenTelemetry(OpenTelemetry openTelemetry) {
        return new IdempotentHandlers(jdbi, names, defaultConsumer, listeners,
                Objects.requireNonNull(openTelemetry, "openTelemetry"), idleInTransactionTimeout);
    }

    /**
     * These handlers, each one's own transactions ended by PostgreSQL once idle for {@code timeout}
     * (see {@link IdempotentHandler#withIdleInTransactionTimeout}; the default is
     * {@link IdempotentHandler#DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT}); the starter passes
     * {@code outboxkit.consumer.idle-in-transaction-timeout}, checked at start. A timeout the library
     * refuses makes each {@code create} throw an {@link io.outboxkit.core.InvalidOptionException}
     * naming {@code idleInTransactionTimeout}. These handlers are unchanged.
     */
    public IdempotentHandlers withIdleInTransactionTimeout(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        return new IdempotentHandlers(jdbi, names, defaultConsumer, listeners, openTelemetry, timeout);
    }

    /**
     * A handler recording processed messages under {@code consumer}; several consumers may share a
     * database, each processing every message once.
     *
     * @throws IllegalArgumentException (an {@link io.outboxkit.core.InvalidOptionException}) when
     *                                  the idle-in-transaction timeout is one the library refuses, or
     *                                  {@code consumer} is not a name {@link IdempotentHandler#create(Jdbi, String, MessageHandler)}
     *                                  takes: blank, longer than {@value IdempotentHandler#MAX_CONSUMER_LENGTH}
     *                                  characters, or holding a NUL or a lone UTF-16 surrogate
     */
    public IdempotentHandler create(String consumer, MessageHandler handler) {
        IdempotentHandler created = IdempotentHandler.create(jdbi, names, consumer, handler)
                .withIdleInTransactionTimeout(idleInTransactionTimeout);
        for (OutboxListener listener : listeners) {
            created = created.withListener(listener);
        }
        return openTelemetry == null ? created : created.withOpenTelemetry(openTelemetry);
    }

    /**
     * A handler recording processed messages under the default consumer name
     * ({@code outboxkit.consumer.name} in the starter).
     *
     * @throws IllegalStateException when no default consumer name was set
     */
    public IdempotentHandler create(MessageHandler handler) {
        if (defaultConsumer == null || defaultConsumer.isBlank()) {
            throw new IllegalStateException("IdempotentHandlers has no default consumer name: set "
                    + "outboxkit.consumer.name, or call create(consumerName, handler)");
        }
        return create(defaultConsumer, handler);
    }
}
