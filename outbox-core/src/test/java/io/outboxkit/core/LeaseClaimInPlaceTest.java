package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.core.spi.MessagePublisher;
import io.outboxkit.testing.PostgresExtension;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A lease claim rewrites each message on its own page: the outbox's pages keep room for it (the
 * schema's fillfactor), so PostgreSQL can make the claimed version heap-only (HOT), adding no entry
 * to any index. On full pages every claim moved its row to another page and wrote four index
 * entries, which made the claim the most expensive statement of a drain.
 */
class LeaseClaimInPlaceTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(Outbox::createTables);

    /** Several pages' worth, so that the claimed rows sit on pages written full by inserts. */
    private static final int MESSAGES = 600;
    private static final int BATCH = 200;

    @BeforeEach
    void empty() {
        Outbox.clear(db.jdbi());
    }

    @Test
    void a_claimed_message_stays_on_the_page_it_was_written_to() {
        OutboxWriter writer = OutboxWriter.create();
        db.jdbi().useTransaction(h -> {
            for (int i = 0; i < MESSAGES; i++) {
                writer.write(h, Outbox.message("agg-" + i, 0));
            }
        });
        Map<UUID, Long> written = pages();
        Map<UUID, Long> whileClaimed = new HashMap<>();
        MessagePublisher publisher = new MessagePublisher() {
            @Override
            public void publish(OutboxMessage message) {
                throw new UnsupportedOperationException("the poller delivers batches here");
            }

            @Override
            public Map<UUID, Exception> publishAll(List<OutboxMessage> batch) {
                whileClaimed.putAll(pages()); // the claim has committed; the mark has not run yet
                return Map.of();
            }
        };
        OutboxPoller poller = OutboxPoller.builder(db.jdbi(), publisher)
                .claimMode(ClaimMode.LEASE).batchSize(BATCH).build();

        assertThat(poller.pollOnce()).isEqualTo(BATCH);

        Map<UUID, Long> claimed = new LinkedHashMap<>();
        db.jdbi().useHandle(h -> h.createQuery("SELECT id FROM outbox WHERE locked_by IS NOT NULL OR status = 'PUBLISHED'")
                .mapTo(UUID.class).forEach(id -> claimed.put(id, whileClaimed.get(id))));
        assertThat(claimed).hasSize(BATCH);
        claimed.forEach((id, page) -> assertThat(page).as("page of claimed message %s", id).isEqualTo(written.get(id)));
    }

    /** The heap page each message's current version is on. */
    private static Map<UUID, Long> pages() {
        Map<UUID, Long> pages = new HashMap<>();
        db.jdbi().useHandle(h -> h.createQuery("SELECT id, (ctid::text::point)[0]::bigint AS page FROM outbox")
                .map((rs, ctx) -> Map.entry(rs.getObject(1, UUID.class), rs.getLong(2)))
                .forEach(e -> pages.put(e.getKey(), e.getValue())));
        return pages;
    }
}
