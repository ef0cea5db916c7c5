package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.outboxkit.core.spi.Causes;
import io.outboxkit.core.spi.MessageHandler;
import io.outboxkit.testing.PostgresExtension;
import io.outboxkit.testing.TcpProxy;
import java.net.URI;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A consumer replica whose host dies (power, a VM killed, a partition) in the middle of a message's
 * transaction: unlike a process killed on a live host, nobody closes its connection, so PostgreSQL
 * keeps its session, idle in transaction, holding the message's {@code processed_messages} row
 * until TCP keepalive gives up on it (about two hours by default). The relay meanwhile redelivers
 * the message, to a replica that is alive.
 */
class ConsumerHostLostTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(Outbox::createTables, 4);

    @Test
    void a_redelivery_is_not_held_up_by_the_transaction_of_a_replica_whose_host_died() throws Exception {
        OutboxMessage message = new OutboxMessage(UUID.randomUUID(), 1, "Order", "o-1", "OrderCreated", "{}", Map.of(),
                Instant.now(), 1);
        int port = URI.create(db.jdbcUrl().substring("jdbc:".length())).getPort();
        try (TcpProxy network = new TcpProxy(port)) {
            Jdbi throughTheNetwork = Jdbi.create(network.uri(db.jdbcUrl()), db.login());
            CountDownLatch hostGone = new CountDownLatch(1);
            MessageHandler dyingHost = (tx, m) -> {
                network.freeze(); // the host dies while its handler runs: nothing more reaches PostgreSQL
                hostGone.countDown();
            };
            Thread first = new Thread(() -> {
                try {
                    IdempotentHandler.create(throughTheNetwork, "loyalty", dyingHost).handle(message);
                } catch (OutboxException lost) {
                    // its host is gone: nobody hears of it
                }
            }, "replica-on-the-dead-host");
            first.setDaemon(true);
            first.start();
            assertThat(hostGone.await(30, TimeUnit.SECONDS)).as("the first replica began the message").isTrue();

            IdempotentHandler alive = IdempotentHandler.create(db.jdbi(), "loyalty", (tx, m) -> { });
            CompletableFuture<Outcome> redelivery = CompletableFuture.supplyAsync(() -> alive.handle(message));

            assertThat(redelivery).as("the relay's redelivery to a live replica, answered within the relay's lease "
                    + "(LEASE_MS 30 s; its HTTP_TIMEOUT_MS is 5 s)").succeedsWithin(Duration.ofSeconds(35));
        }
    }

    @Test
    void its_own_transactions_take_its_idle_timeout_as_their_setting_and_zero_leaves_the_servers() {
        String[] seen = new String[2];
        MessageHandler looking = (tx, m) -> seen[0] = setting(tx);
        IdempotentHandler.create(db.jdbi(), "loyalty", looking).handle(message());
        assertThat(seen[0]).isEqualTo("10s"); // DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT
        IdempotentHandler.create(db.jdbi(), "loyalty", looking).withIdleInTransactionTimeout(Duration.ofMillis(2500))
                .handleAll(List.of(message()));
        assertThat(seen[0]).isEqualTo("2500ms");
        IdempotentHandler.create(db.jdbi(), "loyalty", looking).withIdleInTransactionTimeout(Duration.ZERO)
                .handle(message());
        assertThat(seen[0]).isEqualTo(db.jdbi().withHandle(ConsumerHostLostTest::setting));
    }

    @Test
    void a_stricter_server_database_or_role_setting_is_kept_and_a_looser_one_is_bounded() throws Exception {
        String[] seen = new String[1];
        MessageHandler looking = (tx, m) -> seen[0] = setting(tx);
        try (Connection session = db.dataSource().getConnection()) {
            // As a role's or database's setting would: in force for the session, no transaction open.
            Jdbi strict = CallersConnection.jdbiOn(session);
            strict.useHandle(h -> h.execute("SET idle_in_transaction_session_timeout = '3s'"));
            IdempotentHandler.create(strict, "loyalty", looking).handle(message());
            assertThat(seen[0]).as("the server's 3 s, stricter than the default 10 s").isEqualTo("3s");
            IdempotentHandler.create(strict, "loyalty", looking).withIdleInTransactionTimeout(Duration.ofMillis(2500))
                    .handleAll(List.of(message()));
            assertThat(seen[0]).as("2500 ms given, stricter than the server's").isEqualTo("2500ms");

            strict.useHandle(h -> h.execute("SET idle_in_transaction_session_timeout = '1h'"));
            IdempotentHandler.create(strict, "loyalty", looking).handleAll(List.of(message()));
            assertThat(seen[0]).as("the default, stricter than the server's 1 h").isEqualTo("10s");
            strict.useHandle(h -> h.execute("RESET idle_in_transaction_session_timeout"));
        }
    }

    @Test
    void a_handler_idle_longer_than_the_timeout_is_told_so_and_how_to_raise_it() {
        MessageHandler idling = (tx, m) -> {
            int pid = tx.createQuery("SELECT pg_backend_pid()").mapTo(Integer.class).one();
            // Idle in its transaction until PostgreSQL has ended the session for it.
            await().atMost(Duration.ofSeconds(30)).until(() -> !alive(pid));
        };
        IdempotentHandler handler = IdempotentHandler.create(db.jdbi(), "loyalty", idling)
                .withIdleInTransactionTimeout(Duration.ofMillis(300));

        OutboxMessage message = message();
        assertThatThrownBy(() -> handler.handle(message)).isInstanceOf(OutboxException.class)
                .hasMessageContaining("idle in its transaction longer than idleInTransactionTimeout (PT0.3S")
                .hasMessageContaining("withIdleInTransactionTimeout")
                .satisfies(e -> assertThat(Causes.chain(e)).as("PostgreSQL's error in the cause")
                        .filteredOn(java.sql.SQLException.class::isInstance)
                        .extracting(cause -> ((java.sql.SQLException) cause).getSQLState()).contains("25P03"));
        long records = db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM processed_messages WHERE message_id = ?")
                .bind(0, message.id()).mapTo(Long.class).one());
        assertThat(records).as("records of the message whose transaction was ended").isZero();
    }

    @Test
    void a_transaction_of_the_callers_it_joins_keeps_the_callers_setting() throws Exception {
        try (Handle caller = db.jdbi().open()) {
            caller.begin();
            caller.execute("SET LOCAL idle_in_transaction_session_timeout = '1h'");
            Jdbi boundToTheCallersTransaction = CallersConnection.jdbiOn(caller.getConnection());
            String[] seen = new String[1];
            MessageHandler looking = (tx, m) -> seen[0] = setting(tx);
            IdempotentHandler.create(boundToTheCallersTransaction, "loyalty", looking).handle(message());
            assertThat(seen[0]).isEqualTo("1h");
            IdempotentHandler.create(boundToTheCallersTransaction, "loyalty", looking).handleAll(List.of(message()));
            assertThat(seen[0]).isEqualTo("1h");
            assertThat(setting(caller)).isEqualTo("1h");
            caller.rollback();
        }
    }

    @Test
    void a_timeout_postgresql_cannot_take_is_refused_naming_the_option() {
        IdempotentHandler handler = IdempotentHandler.create(db.jdbi(), "loyalty", (tx, m) -> { });
        for (Duration refused : List.of(Duration.ofMillis(-1), Duration.ofNanos(999_999),
                Duration.ofMillis(Integer.MAX_VALUE + 1L), Duration.ofSeconds(Long.MAX_VALUE))) {
            assertThatThrownBy(() -> handler.withIdleInTransactionTimeout(refused))
                    .isInstanceOfSatisfying(InvalidOptionException.class,
                            e -> assertThat(e.option()).isEqualTo("idleInTransactionTimeout"))
                    .hasMessageContaining("idleInTransactionTimeout must be 0 (the server's setting) or 1 to "
                            + "2147483647 ms, was " + refused);
        }
        assertThat(handler.withIdleInTransactionTimeout(Duration.ofMillis(Integer.MAX_VALUE)).handle(message()))
                .isEqualTo(Outcome.PROCESSED);
    }

    private static boolean alive(int pid) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM pg_stat_activity WHERE pid = ?")
                .bind(0, pid).mapTo(Long.class).one()) > 0;
    }

    private static String setting(Handle h) {
        return h.createQuery("SELECT current_setting('idle_in_transaction_session_timeout')").mapTo(String.class).one();
    }

    private static OutboxMessage message() {
        return new OutboxMessage(UUID.randomUUID(), 1, "Order", "o-1", "OrderCreated", "{}", Map.of(), Instant.now(), 1);
    }
}
