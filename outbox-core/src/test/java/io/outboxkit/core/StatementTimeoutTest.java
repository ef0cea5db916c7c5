package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import com.zaxxer.hikari.HikariDataSource;
import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link OutboxPoller.Builder#statementTimeout}: a statement of the poller's that runs on is
 * cancelled by PostgreSQL, its cycle fails with an error that names the limit, nothing is lost,
 * and the limit stays out of the connection's other transactions.
 */
class StatementTimeoutTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(Outbox::createTables);

    private static final Duration TIMEOUT = Duration.ofMillis(300);
    /** Far longer than {@link #TIMEOUT}: a statement that waits this long was not cancelled. */
    private static final Duration HUNG = Duration.ofSeconds(20);

    /** The poller's own single connection, so that what its transactions leave behind can be read. */
    private HikariDataSource pollerPool;
    private Jdbi pollerJdbi;
    /** A transaction of another session, holding a lock the poller's statements wait for. */
    private Handle blocker;

    @BeforeEach
    void setUp() {
        Outbox.clear(db.jdbi());
        pollerPool = db.newPool(1);
        pollerJdbi = Jdbi.create(pollerPool);
    }

    @AfterEach
    void tearDown() {
        releaseBlocker();
        pollerPool.close();
    }

    @ParameterizedTest
    @EnumSource(ClaimMode.class)
    void a_claim_waiting_on_a_table_lock_is_cancelled_at_the_timeout_and_claims_once_the_lock_is_gone(ClaimMode mode) {
        List<UUID> ids = Outbox.write(db.jdbi(), 1, 1);
        RecordingPublisher publisher = new RecordingPublisher();
        OutboxPoller poller = OutboxPoller.builder(pollerJdbi, publisher).claimMode(mode).statementTimeout(TIMEOUT).build();
        block("LOCK TABLE outbox IN EXCLUSIVE MODE"); // as an operator's maintenance might

        assertTimeoutPreemptively(HUNG, () -> assertThatThrownBy(poller::pollOnce)
                .isInstanceOf(OutboxException.class)
                .hasMessageContaining("could not claim messages")
                .hasMessageContaining("canceling statement due to statement timeout")
                .hasMessageContaining("statementTimeout of 300 ms"));
        assertThat(publisher.attempts()).isZero();

        releaseBlocker();
        assertThat(poller.pollOnce()).isOne();
        assertThat(publisher.delivered(ids.get(0))).isTrue();
        assertThat(Outbox.count(db.jdbi(), "PUBLISHED")).isOne();
        assertThat(pollerSessionsStatementTimeout()).as("the session's own setting, after the poller's transactions")
                .isEqualTo("0");
    }

    @Test
    void a_mark_waiting_on_a_row_lock_is_cancelled_and_its_message_is_delivered_again_after_the_lease() {
        UUID id = Outbox.write(db.jdbi(), 1, 1).get(0);
        RecordingPublisher recorder = new RecordingPublisher();
        OutboxPoller poller = OutboxPoller.builder(pollerJdbi, message -> {
            recorder.publish(message);
            if (recorder.attempts() == 1) {
                // The lease is committed: another session can lock the row, and the mark must wait for it.
                block("SELECT 1 FROM outbox WHERE id = '" + id + "' FOR UPDATE");
            }
        }).statementTimeout(TIMEOUT).lease(Duration.ofSeconds(1)).build();

        assertTimeoutPreemptively(HUNG, () -> assertThatThrownBy(poller::pollOnce)
                .isInstanceOf(OutboxException.class)
                .hasMessageContaining("could not mark 1 message(s) published")
                .hasMessageContaining("statementTimeout of 300 ms"));
        assertThat(Outbox.count(db.jdbi(), "PENDING")).as("the cancelled mark wrote nothing").isOne();

        releaseBlocker();
        await().atMost(Duration.ofSeconds(10)).until(() -> poller.pollOnce() == 1); // once the lease has ended
        assertThat(recorder.attempts()).isEqualTo(2);
        assertThat(Outbox.count(db.jdbi(), "PUBLISHED")).isOne();
    }

    /** Runs {@code sql} in a transaction of another session, left open until {@link #releaseBlocker()}. */
    private void block(String sql) {
        blocker = db.jdbi().open();
        blocker.begin();
        blocker.execute(sql);
    }

    private void releaseBlocker() {
        if (blocker != null) {
            blocker.rollback();
            blocker.close();
            blocker = null;
        }
    }

    private String pollerSessionsStatementTimeout() {
        return pollerJdbi.withHandle(h -> h.createQuery("SHOW statement_timeout").mapTo(String.class).one());
    }
}
