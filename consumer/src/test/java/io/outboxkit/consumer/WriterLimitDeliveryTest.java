package io.outboxkit.consumer;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.app.delivery.HttpPublisher;
import io.outboxkit.core.NewMessage;
import io.outboxkit.core.OutboxAdmin;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.OutboxWriter;
import io.outboxkit.testing.PostgresExtension;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A payload OutboxWriter accepts with its default maxPayloadBytes (1 MiB) is one the HTTP consumer
 * takes: a message the writer accepted, read back from the outbox as PostgreSQL prints it and
 * delivered by the relay's HttpPublisher, reaches the real consumer.
 */
class WriterLimitDeliveryTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(ConsumerMain.SCHEMA::apply);

    @RegisterExtension
    static final RunningConsumer consumer = new RunningConsumer(db, 4);

    @BeforeEach
    void cleanSlate() {
        db.truncateAll();
    }

    @Test
    void a_payload_just_under_the_writers_default_limit_is_delivered_to_the_http_consumer() throws Exception {
        // 1,048,492 bytes of UTF-8, under OutboxWriter.DEFAULT_MAX_PAYLOAD_BYTES (1,048,576), in strings
        // shorter than any string limit: only the envelope around it is added on the wire
        String chunk = "x".repeat(349_490);
        String payload = "{\"a\":\"" + chunk + "\",\"b\":\"" + chunk + "\",\"c\":\"" + chunk + "\"}";
        assertThat(payload.getBytes(StandardCharsets.UTF_8).length).isEqualTo(1_048_492)
                .isLessThan(OutboxWriter.DEFAULT_MAX_PAYLOAD_BYTES);

        assertDelivered(writeAndReadBack(payload));
    }

    @Test
    void a_payload_with_one_long_string_under_the_writers_limit_is_delivered_to_the_http_consumer() throws Exception {
        // one string of 1,000,001 characters: 1,000,012 bytes, under the writer's 1 MiB
        String payload = "{\"note\":\"" + "x".repeat(1_000_001) + "\"}";
        assertThat(payload.getBytes(StandardCharsets.UTF_8).length).isLessThan(OutboxWriter.DEFAULT_MAX_PAYLOAD_BYTES);

        assertDelivered(writeAndReadBack(payload));
    }

    @Test
    void a_compact_payload_the_writer_counted_under_the_limit_is_delivered_as_stored() throws Exception {
        // 500,000 numbers written compactly: 1,000,001 bytes, which the writer counts and accepts
        String payload = "[" + "1,".repeat(499_999) + "1]";
        assertThat(payload.getBytes(StandardCharsets.UTF_8).length).isLessThan(OutboxWriter.DEFAULT_MAX_PAYLOAD_BYTES);

        assertDelivered(writeAndReadBack(payload));
    }

    private static OutboxMessage writeAndReadBack(String payload) {
        OutboxWriter writer = OutboxWriter.create();
        UUID id = db.jdbi().inTransaction(h -> writer.write(h,
                NewMessage.of("Note", UUID.randomUUID().toString(), "NoteAdded", payload)));
        return OutboxAdmin.create(db.jdbi()).find(id).orElseThrow().message();
    }

    private static void assertDelivered(OutboxMessage message) throws Exception {
        try (HttpPublisher publisher = HttpPublisher.builder(URI.create("http://127.0.0.1:" + consumer.app().port() + "/messages"))
                .build()) {
            Map<UUID, Exception> failures = publisher.publishAll(List.of(message));
            assertThat(failures).as("a message of %s payload characters as stored, which the writer accepted",
                    message.payload().length()).isEmpty();
        }
    }
}
