package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.testing.PostgresExtension;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The views an operations console reads: a filtered listing paged by keyset, the oldest due message, the lease holders. */
class OutboxAdminViewsTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(Outbox::createTables);

    private final OutboxAdmin admin = OutboxAdmin.create(db.jdbi());

    @BeforeEach
    void clean() {
        Outbox.clear(db.jdbi());
    }

    @Test
    void pages_newest_first_and_oldest_first_by_keyset_until_next_is_empty() {
        List<UUID> ids = Outbox.write(db.jdbi(), 7, 1);

        assertThat(allPages(MessageQuery.newestFirst(3))).containsExactlyElementsOf(reversed(ids));
        assertThat(allPages(MessageQuery.oldestFirst(3))).containsExactlyElementsOf(ids);
        MessagePage first = admin.page(MessageQuery.newestFirst(3));
        assertThat(first.entries()).hasSize(3);
        assertThat(first.next()).hasValue(first.entries().get(2).message().sequence());
        MessagePage all = admin.page(MessageQuery.newestFirst(7));
        assertThat(all.entries()).hasSize(7);
        assertThat(all.next()).as("nothing after the last message").isEmpty();
    }

    @Test
    void filters_by_status_aggregate_and_event_type_together() {
        List<UUID> ids = Outbox.write(db.jdbi(), 3, 2); // agg-0..2, Event0 then Event1
        setStatus(ids.get(0), "DEAD");     // agg-0 Event0
        setStatus(ids.get(4), "DEAD");     // agg-1 Event1
        setStatus(ids.get(1), "PUBLISHED"); // agg-1 Event0

        assertThat(ids(admin.page(MessageQuery.oldestFirst(50).status(MessageStatus.DEAD))))
                .containsExactly(ids.get(0), ids.get(4));
        assertThat(ids(admin.page(MessageQuery.oldestFirst(50).status(MessageStatus.DEAD).aggregate("Order", "agg-1"))))
                .containsExactly(ids.get(4));
        assertThat(ids(admin.page(MessageQuery.newestFirst(50).status(MessageStatus.PENDING))))
                .containsExactly(ids.get(5), ids.get(3), ids.get(2));
        assertThat(ids(admin.page(MessageQuery.oldestFirst(50).status(MessageStatus.PENDING).aggregate("Order", "agg-2"))))
                .containsExactly(ids.get(2), ids.get(5));
        assertThat(ids(admin.page(MessageQuery.oldestFirst(50).aggregate("Order", "agg-1"))))
                .containsExactly(ids.get(1), ids.get(4));
        assertThat(ids(admin.page(MessageQuery.oldestFirst(50).aggregate(null, "agg-1").eventType("Event0"))))
                .containsExactly(ids.get(1));
        assertThat(ids(admin.page(MessageQuery.oldestFirst(50).status(MessageStatus.PUBLISHED))))
                .containsExactly(ids.get(1));
        assertThat(ids(admin.page(MessageQuery.oldestFirst(50).aggregate("Invoice", "agg-1")))).isEmpty();
        OutboxEntry dead = admin.page(MessageQuery.oldestFirst(1).status(MessageStatus.DEAD)).entries().get(0);
        assertThat(dead.status()).isEqualTo(MessageStatus.DEAD);
        assertThat(dead.message().payload()).isEqualTo("{\"n\": 0}");
    }

    @Test
    void a_filter_few_rows_match_examines_at_most_max_examined_rows_and_says_where_to_continue() {
        UUID rare = Outbox.write(db.jdbi(), 1, 1).get(0);
        db.jdbi().useHandle(h -> h.execute("UPDATE outbox SET event_type = 'Rare' WHERE id = ?", rare));
        writeMany(OutboxAdmin.MAX_EXAMINED + 10);
        MessageQuery rareOnes = MessageQuery.newestFirst(5).eventType("Rare");

        MessagePage first = admin.page(rareOnes);

        assertThat(first.entries()).as("the match lies beyond the rows one page examines").isEmpty();
        assertThat(first.examined()).isEqualTo(OutboxAdmin.MAX_EXAMINED);
        assertThat(first.next()).isPresent();
        MessagePage second = admin.page(rareOnes.after(first.next().getAsLong()));
        assertThat(ids(second)).containsExactly(rare);
        assertThat(second.next()).isEmpty();
    }

    @Test
    void lease_holders_are_the_pollers_with_leases_not_yet_ended_on_pending_messages() {
        List<UUID> ids = Outbox.write(db.jdbi(), 5, 1);
        db.jdbi().useHandle(h -> {
            h.execute("UPDATE outbox SET locked_by = 'relay-a', locked_until = now() + interval '30 seconds' "
                    + "WHERE id IN (?, ?)", ids.get(0), ids.get(1));
            h.execute("UPDATE outbox SET locked_by = 'relay-b', locked_until = now() + interval '10 seconds' WHERE id = ?",
                    ids.get(2));
            h.execute("UPDATE outbox SET locked_by = 'relay-old', locked_until = now() - interval '1 second' WHERE id = ?",
                    ids.get(3));
            h.execute("UPDATE outbox SET status = 'DEAD', locked_by = 'relay-c', locked_until = now() + interval '1 minute' "
                    + "WHERE id = ?", ids.get(4));
        });

        List<LeaseHolder> holders = admin.leaseHolders();

        assertThat(holders).extracting(LeaseHolder::lockedBy, LeaseHolder::messages)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("relay-a", 2L),
                        org.assertj.core.groups.Tuple.tuple("relay-b", 1L));
        assertThat(holders.get(0).leaseEnd()).isAfter(holders.get(1).leaseEnd());
    }

    @Test
    void a_query_out_of_bounds_is_refused_before_the_database_is_asked() {
        assertThatThrownBy(() -> MessageQuery.newestFirst(0)).hasMessageContaining("limit");
        assertThatThrownBy(() -> MessageQuery.newestFirst(MessageQuery.MAX_LIMIT + 1)).hasMessageContaining("limit");
        assertThatThrownBy(() -> MessageQuery.newestFirst(10).after(-1L)).hasMessageContaining("after");
        assertThatThrownBy(() -> MessageQuery.newestFirst(10).eventType("")).hasMessageContaining("eventType");
        assertThatThrownBy(() -> MessageQuery.newestFirst(10).aggregate("x".repeat(501), null))
                .hasMessageContaining("aggregateType");
    }

    private List<UUID> allPages(MessageQuery query) {
        List<UUID> seen = new ArrayList<>();
        MessageQuery next = query;
        for (int pages = 0; pages < 100; pages++) {
            MessagePage page = admin.page(next);
            seen.addAll(ids(page));
            if (page.next().isEmpty()) {
                return seen;
            }
            next = query.after(page.next().getAsLong());
        }
        throw new AssertionError("paging did not end");
    }

    private void writeMany(int count) {
        db.jdbi().useHandle(h -> h.execute("""
                INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, payload)
                SELECT gen_random_uuid(), 'Order', 'bulk-' || n, 'Common', '{}'::jsonb FROM generate_series(1, ?) n""",
                count));
    }

    private void setStatus(UUID id, String status) {
        db.jdbi().useHandle(h -> h.execute("UPDATE outbox SET status = ? WHERE id = ?", status, id));
    }

    private static List<UUID> ids(MessagePage page) {
        return page.entries().stream().map(e -> e.message().id()).toList();
    }

    private static List<UUID> reversed(List<UUID> ids) {
        List<UUID> copy = new ArrayList<>(ids);
        java.util.Collections.reverse(copy);
        return copy;
    }
}
