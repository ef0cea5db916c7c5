package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The library over a pool that hands out connections with auto-commit off (HikariCP's
 * {@code autoCommit=false}, a common setting beside JPA) commits what it does as over one with
 * auto-commit on: each unit of work it runs on its own connections begins and commits its own
 * transaction. Everything is checked through another pool, so only what committed is seen.
 */
class AutoCommitOffPoolTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(Outbox::createTables, 4);

    private static HikariDataSource autoCommitOff;
    private static Jdbi jdbi;

    @BeforeAll
    static void a_pool_with_auto_commit_off() {
        db.jdbi().useHandle(h -> h.execute("CREATE TABLE effects (key text PRIMARY KEY, n int NOT NULL)"));
        autoCommitOff = db.newPool(3, config -> config.setAutoCommit(false));
        jdbi = Jdbi.create(autoCommitOff);
    }

    @AfterAll
    static void close() {
        autoCommitOff.close();
    }

    @BeforeEach
    void clean() {
        db.jdbi().useHandle(h -> h.execute("TRUNCATE outbox, processed_messages, effects"));
    }

    @Test
    void an_idempotent_handler_reports_processed_only_when_its_effect_and_record_committed() {
        IdempotentHandler handler = IdempotentHandler.create(jdbi, "loyalty",
                (tx, m) -> tx.execute("INSERT INTO effects (key, n) VALUES (?, 1)", m.aggregateId()));

        // Outcome.PROCESSED: "the handler ran and its effect committed with the processed-message record"
        assertThat(handler.handle(message("order-1"))).isEqualTo(Outcome.PROCESSED);
        assertThat(count("SELECT count(*) FROM effects")).as("the effect reported PROCESSED is committed").isEqualTo(1);
        assertThat(count("SELECT count(*) FROM processed_messages")).as("its processed record is committed").isEqualTo(1);
    }

    @Test
    void an_idempotent_handler_commits_the_effects_and_records_of_a_batch_it_reports_processed() {
        IdempotentHandler handler = IdempotentHandler.create(jdbi, "loyalty",
                (tx, m) -> tx.execute("INSERT INTO effects (key, n) VALUES (?, 1)", m.aggregateId()));

        BatchOutcome outcome = handler.handleAll(List.of(message("order-1"), message("order-2")));

        assertThat(outcome.outcomes().values()).containsOnly(Outcome.PROCESSED).hasSize(2);
        assertThat(count("SELECT count(*) FROM effects")).as("the batch's effects are committed").isEqualTo(2);
        assertThat(count("SELECT count(*) FROM processed_messages")).as("their records are committed").isEqualTo(2);
    }

    @ParameterizedTest
    @EnumSource(ClaimMode.class)
    void a_message_the_poller_delivered_is_recorded_published_and_not_delivered_again(ClaimMode mode) {
        Outbox.write(db.jdbi(), 1, 1);
        AtomicInteger deliveries = new AtomicInteger();
        OutboxPoller poller = OutboxPoller.builder(jdbi, m -> deliveries.incrementAndGet()).claimMode(mode).build();

        assertThat(poller.pollOnce()).isEqualTo(1);
        assertThat(deliveries).hasValue(1);
        assertThat(Outbox.count(db.jdbi(), "PUBLISHED")).as("the delivered message is recorded PUBLISHED").isEqualTo(1);
        assertThat(poller.pollOnce()).as("nothing is due once the message was delivered").isZero();
        assertThat(deliveries).as("deliveries of the one message").hasValue(1);
    }

    @Test
    void a_failed_delivery_is_recorded_as_an_attempt() {
        UUID id = Outbox.write(db.jdbi(), 1, 1).get(0);
        OutboxPoller poller = OutboxPoller.builder(jdbi, new RecordingPublisher().failWhen(m -> true)).build();

        poller.pollOnce();

        assertThat(count("SELECT attempts FROM outbox WHERE id = '" + id + "'")).as("the failed attempt is committed")
                .isEqualTo(1);
    }

    @Test
    void a_started_poller_is_woken_by_a_commit_well_before_its_poll_interval() {
        RecordingPublisher publisher = new RecordingPublisher();
        Duration pollInterval = Duration.ofSeconds(60);
        try (OutboxPoller poller = OutboxPoller.builder(jdbi, publisher).pollInterval(pollInterval).build()) {
            poller.start();
            // Its LISTEN and its announcement that it waits take effect only once committed.
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> NotifyWakeupTest.listening(db) && poller.stats().polls() >= 2);
            UUID id = Outbox.write(db.jdbi(), 1, 1).get(0);

            await().atMost(pollInterval.dividedBy(10)).until(() -> publisher.delivered(id));
        }
    }

    @Test
    void retention_deletes_what_it_reports_deleted() {
        Outbox.write(db.jdbi(), 3, 1);
        db.jdbi().useHandle(h -> h.execute("UPDATE outbox SET status = 'PUBLISHED', created_at = now() - interval '2 days', "
                + "published_at = now() - interval '2 days'"));

        OutboxRetention.Result result = OutboxRetention.builder(jdbi).publishedRetention(Duration.ofDays(1)).batchSize(2)
                .vacuum(true).build().runOnce();

        assertThat(result.publishedMessages()).isEqualTo(3);
        assertThat(Outbox.total(db.jdbi())).as("the deleted rows are gone for good").isZero();
    }

    @Test
    void the_admins_requeue_commits_the_messages_it_reports_requeued() {
        UUID id = Outbox.write(db.jdbi(), 1, 1).get(0);
        db.jdbi().useHandle(h -> h.execute("UPDATE outbox SET status = 'DEAD', attempts = 10 WHERE id = ?", id));
        OutboxAdmin admin = OutboxAdmin.create(jdbi);

        assertThat(admin.requeueDead()).isEqualTo(1);
        assertThat(Outbox.count(db.jdbi(), "PENDING")).as("the requeued message is PENDING").isEqualTo(1);
        assertThat(admin.page(MessageQuery.newestFirst(10).status(MessageStatus.PENDING)).entries())
                .as("the admin's bounded views read on such a pool").hasSize(1);
    }

    @Test
    void an_idempotent_handler_over_a_pool_whose_connections_a_decorator_wraps_refuses_rather_than_report_uncommitted_work() {
        // A tracing or logging decorator of the pool's connections that does not implement unwrapping
        // (isWrapperFor false: allowed by java.sql.Wrapper), over the same pool with auto-commit off: whether
        // such a connection is inside the application's transaction cannot be told, so neither begun nor joined.
        Jdbi decorated = Jdbi.create(() -> decorate(autoCommitOff.getConnection()));
        IdempotentHandler handler = IdempotentHandler.create(decorated, "loyalty",
                (tx, m) -> tx.execute("INSERT INTO effects (key, n) VALUES (?, 1)", m.aggregateId()));

        assertThatThrownBy(() -> handler.handle(message("order-1"))).isInstanceOf(OutboxException.class)
                .hasMessageContaining("org.postgresql.core.BaseConnection").hasMessageContaining("unwrap");
        assertThat(count("SELECT count(*) FROM processed_messages")).as("records of a refused message").isZero();
        assertThat(count("SELECT count(*) FROM effects")).as("effects of a refused message").isZero();
    }

    @Test
    void over_an_auto_commit_on_pool_whose_connections_a_decorator_wraps_the_handler_and_retention_commit_their_work() {
        // Such a decorator over a pool with auto-commit on, as the refusal above recommends: a connection with
        // auto-commit on is in no transaction, so the library's own transactions need no answer from the driver.
        Jdbi decorated = Jdbi.create(() -> decorate(db.dataSource().getConnection()));
        IdempotentHandler handler = IdempotentHandler.create(decorated, "loyalty",
                (tx, m) -> tx.execute("INSERT INTO effects (key, n) VALUES (?, 1)", m.aggregateId()));

        assertThat(handler.handle(message("order-1"))).isEqualTo(Outcome.PROCESSED);
        assertThat(handler.handleAll(List.of(message("order-2"))).outcomes().values()).containsOnly(Outcome.PROCESSED);
        assertThat(count("SELECT count(*) FROM effects")).as("the handler's committed effects").isEqualTo(2);

        Outbox.write(db.jdbi(), 2, 1);
        db.jdbi().useHandle(h -> h.execute("UPDATE outbox SET status = 'PUBLISHED', created_at = now() - interval '2 days', "
                + "published_at = now() - interval '2 days'"));
        OutboxRetention.Result result = OutboxRetention.builder(decorated).publishedRetention(Duration.ofDays(1))
                .build().runOnce();
        assertThat(result.publishedMessages()).isEqualTo(2);
        assertThat(Outbox.total(db.jdbi())).as("the deleted rows are gone for good").isZero();
    }

    /** {@code connection} behind a decorator that delegates every call but unwrapping. */
    private static java.sql.Connection decorate(java.sql.Connection connection) {
        return (java.sql.Connection) java.lang.reflect.Proxy.newProxyInstance(AutoCommitOffPoolTest.class.getClassLoader(),
                new Class<?>[] {java.sql.Connection.class}, (proxy, method, args) -> {
                    if (method.getName().equals("isWrapperFor")) {
                        return false;
                    }
                    if (method.getName().equals("unwrap")) {
                        throw new java.sql.SQLException("not a wrapper");
                    }
                    try {
                        return method.invoke(connection, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    private static OutboxMessage message(String aggregateId) {
        return new OutboxMessage(UUID.randomUUID(), 1, "Order", aggregateId, "OrderCreated", "{}", Map.of(),
                Instant.now(), 1);
    }

    private static long count(String sql) {
        return db.jdbi().withHandle(h -> h.createQuery(sql).mapTo(Long.class).one());
    }
}
