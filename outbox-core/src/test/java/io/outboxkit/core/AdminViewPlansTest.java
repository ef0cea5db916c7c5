package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.core.internal.OutboxSql;
import io.outboxkit.testing.PostgresExtension;
import java.util.List;
import org.jdbi.v3.core.statement.Query;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The console's views read indexes, never the whole outbox: on an analyzed outbox of 30,000
 * messages, nearly all delivered, each statement's plan names the index it is written for and
 * holds no sequential scan.
 */
class AdminViewPlansTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(Outbox::createTables);

    private static final AdminQueries VIEWS = new AdminQueries(new OutboxSql(OutboxNames.DEFAULT));

    @BeforeAll
    static void aMostlyDeliveredOutbox() {
        db.jdbi().useHandle(h -> {
            h.execute("TRUNCATE outbox");
            h.execute("""
                    INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, payload, status, published_at)
                    SELECT gen_random_uuid(), 'Order', 'a-' || (n % 5000), 'E' || (n % 7), '{}'::jsonb,
                           CASE WHEN n % 1000 = 0 THEN 'DEAD' WHEN n % 100 = 0 THEN 'PENDING' ELSE 'PUBLISHED' END,
                           CASE WHEN n % 100 = 0 THEN NULL ELSE now() END
                    FROM generate_series(1, 30000) n""");
            h.execute("ANALYZE outbox");
        });
    }

    @Test
    void listing_pending_messages_reads_the_pending_index() {
        assertThat(plan(MessageQuery.newestFirst(50).status(MessageStatus.PENDING).eventType("E1")))
                .contains("outbox_pending_seq").doesNotContain("Seq Scan");
    }

    @Test
    void listing_dead_messages_reads_the_dead_index_or_with_an_aggregate_the_undelivered_one() {
        assertThat(plan(MessageQuery.newestFirst(50).status(MessageStatus.DEAD)))
                .contains("outbox_dead_seq").doesNotContain("Seq Scan").doesNotContain("outbox_seq_key");
        assertThat(plan(MessageQuery.oldestFirst(50).status(MessageStatus.DEAD).aggregate("Order", "a-7").after(10L)))
                .contains("outbox_undelivered_aggregate").doesNotContain("Seq Scan");
    }

    @Test
    void listing_any_status_reads_the_sequence_index_within_the_examined_bound() {
        String plan = plan(MessageQuery.newestFirst(50).eventType("E3").aggregate(null, "a-9").after(20000L));
        assertThat(plan).contains("outbox_seq_key").doesNotContain("Seq Scan");
        assertThat(plan).contains("Limit");
    }

    @Test
    void the_lease_holders_read_the_pending_index() {
        assertThat(explain(VIEWS.leaseHolders, q -> q.bind("limit", 100))).contains("outbox_pending_seq")
                .doesNotContain("Seq Scan");
    }

    private static String plan(MessageQuery query) {
        return explain(VIEWS.page(query), q -> OutboxAdmin.bind(q, query).bind("limit", query.limit() + 1));
    }

    private static String explain(String sql, java.util.function.UnaryOperator<Query> binder) {
        return db.jdbi().inTransaction(h -> {
            h.createQuery(AdminQueries.BOUNDED).bind(0, "5000ms").mapToMap().one();
            List<String> lines = binder.apply(h.createQuery("EXPLAIN " + sql)).mapTo(String.class).list();
            return String.join("\n", lines);
        });
    }
}
