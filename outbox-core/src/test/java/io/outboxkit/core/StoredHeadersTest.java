package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.testing.PostgresExtension;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Headers stored by other means than {@link OutboxWriter} (a producer in another language): the
 * {@code jsonb} column takes any JSON, and such a message is read, and delivered, like any other.
 */
class StoredHeadersTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(Outbox::createTables);

    /** Headers as stored, and what they read as. */
    private static final Map<String, Map<String, String>> READ_AS = new LinkedHashMap<>();

    static {
        READ_AS.put("null", Map.of());
        READ_AS.put("[\"a\", \"b\"]", Map.of());
        READ_AS.put("\"text\"", Map.of());
        READ_AS.put("7", Map.of());
        READ_AS.put("{\"s\": \"x\", \"n\": 1.5, \"b\": true, \"z\": null, \"o\": {\"a\": [1, \"2\"]}}",
                Map.of("s", "x", "n", "1.5", "b", "true", "z", "null", "o", "{\"a\": [1, \"2\"]}"));
        // Beyond a JSON parser's default limits, within jsonb's.
        READ_AS.put("{\"big\": " + "9".repeat(1_200) + "}", Map.of("big", "9".repeat(1_200)));
        READ_AS.put("{\"deep\": " + "[".repeat(2_000) + "]".repeat(2_000) + "}",
                Map.of("deep", "[".repeat(2_000) + "]".repeat(2_000)));
    }

    @BeforeEach
    void clean() {
        Outbox.clear(db.jdbi());
    }

    @ParameterizedTest
    @EnumSource(ClaimMode.class)
    void a_batch_holding_messages_whose_headers_are_not_an_object_of_strings_is_delivered_whole(ClaimMode mode) {
        List<UUID> written = new ArrayList<>(Outbox.write(db.jdbi(), 2, 1));
        Map<UUID, Map<String, String>> foreign = writeForeign();
        written.addAll(foreign.keySet());
        OutboxWriter writer = OutboxWriter.create();
        for (String aggregate : List.of("after-0", "after-1")) { // aggregates of their own: not held back
            written.add(db.jdbi().inTransaction(h -> writer.write(h, Outbox.message(aggregate, 0))));
        }
        Map<UUID, Map<String, String>> published = new ConcurrentHashMap<>();
        OutboxPoller poller = OutboxPoller.builder(db.jdbi(), m -> published.put(m.id(), m.headers()))
                .claimMode(mode).build();

        assertThat(poller.pollOnce()).isEqualTo(written.size());

        assertThat(published).containsOnlyKeys(written);
        assertThat(Outbox.count(db.jdbi(), "PUBLISHED")).isEqualTo(written.size());
        foreign.forEach((id, headers) -> assertThat(published.get(id)).as("the headers of %s", id).isEqualTo(headers));
    }

    @Test
    void an_operator_reads_them_as_the_poller_does() {
        Map<UUID, Map<String, String>> foreign = writeForeign();
        OutboxAdmin admin = OutboxAdmin.create(db.jdbi());

        assertThat(admin.list(MessageStatus.PENDING, 100)).hasSize(foreign.size());
        foreign.forEach((id, headers) -> assertThat(admin.find(id)).get()
                .extracting(entry -> entry.message().headers()).as("the headers of %s", id).isEqualTo(headers));
    }

    /** One message per stored form of {@link #READ_AS}, each of an aggregate of its own; by id, what its headers read as. */
    private static Map<UUID, Map<String, String>> writeForeign() {
        Map<UUID, Map<String, String>> written = new LinkedHashMap<>();
        READ_AS.forEach((stored, readAs) -> {
            UUID id = UUID.randomUUID();
            db.jdbi().useHandle(h -> h.execute("INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, payload, headers) "
                    + "VALUES (?, 'Order', ?, 'OrderCreated', '{}', ?::jsonb)", id, "foreign-" + id, stored));
            written.put(id, readAs);
        });
        return written;
    }
}
