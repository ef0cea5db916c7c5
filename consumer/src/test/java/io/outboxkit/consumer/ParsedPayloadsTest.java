package io.outboxkit.consumer;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import com.fasterxml.jackson.databind.JsonNode;
import io.outboxkit.app.Jsons;
import io.outboxkit.app.MessageEnvelope;
import io.outboxkit.core.OutboxMessage;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class ParsedPayloadsTest {

    private final ParsedPayloads parsed = new ParsedPayloads();

    @Test
    void a_registered_payload_is_given_for_the_message_object_it_was_registered_with() {
        JsonNode envelope = created(UUID.randomUUID());
        OutboxMessage message = MessageEnvelope.fromJson(envelope);

        parsed.put(message, envelope.get("payload"));

        assertSame(envelope.get("payload"), parsed.get(message));
    }

    @Test
    void another_message_object_with_the_same_id_gets_nothing_and_keeps_its_own_payload_text() {
        UUID id = UUID.randomUUID();
        JsonNode first = created(id);
        OutboxMessage registered = MessageEnvelope.fromJson(first);
        OutboxMessage redelivered = MessageEnvelope.fromJson(created(id));

        parsed.put(registered, first.get("payload"));

        assertNull(parsed.get(redelivered));
    }

    @Test
    void forgetting_a_message_leaves_a_later_registration_of_its_id_by_another_request() {
        UUID id = UUID.randomUUID();
        JsonNode first = created(id);
        JsonNode second = created(id);
        OutboxMessage mine = MessageEnvelope.fromJson(first);
        OutboxMessage theirs = MessageEnvelope.fromJson(second);
        parsed.put(mine, first.get("payload"));
        parsed.put(theirs, second.get("payload"));

        parsed.forget(List.of(mine));

        assertSame(second.get("payload"), parsed.get(theirs));
        parsed.forget(List.of(theirs));
        assertNull(parsed.get(theirs));
    }

    private static JsonNode created(UUID id) {
        UUID order = UUID.randomUUID();
        return Jsons.mapper().valueToTree(Envelopes.orderCreated(id, 1, order, UUID.randomUUID(), "12.50"));
    }
}
