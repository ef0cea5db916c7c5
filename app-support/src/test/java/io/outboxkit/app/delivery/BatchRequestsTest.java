package io.outboxkit.app.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.spi.FailureReason;
import java.net.URI;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** How the relay reads a consumer's answer to a batch: which messages it delivered, which failed and why. */
class BatchRequestsTest {

    private static final URI ENDPOINT = URI.create("http://consumer.test/messages/batch");

    private final OutboxMessage processed = message();
    private final OutboxMessage duplicate = message();
    private final OutboxMessage failed = message();
    private final OutboxMessage unreported = message();
    private final List<OutboxMessage> sent = List.of(processed, duplicate, failed, unreported);

    @Test
    void processed_and_duplicate_are_delivered_failed_and_unreported_fail_saying_why() {
        String answer = """
                {"results": [
                  {"id": "%s", "status": "processed"},
                  {"status": "duplicate", "id": "%s", "said_by": "a newer consumer"},
                  {"id": "%s", "status": "failed", "error": "amount is required"}
                ], "took_ms": 3}""".formatted(processed.id(), duplicate.id(), failed.id());

        Map<UUID, Exception> failures = BatchRequests.failures(sent, answer, ENDPOINT);

        assertThat(failures).containsOnlyKeys(failed.id(), unreported.id());
        assertThat(failures.get(failed.id())).hasMessage(ENDPOINT + " answered failed: amount is required");
        assertThat(failures.get(unreported.id())).hasMessage("the answer from " + ENDPOINT + " has no result for it");
        assertThat(FailureReason.of(failures.get(failed.id()))).isEqualTo(FailureReason.REFUSED);
    }

    @Test
    void an_id_reported_with_two_outcomes_failed_whichever_came_first_and_ids_in_capitals_are_the_same_ids() {
        String answer = """
                {"results": [{"id": "%s", "status": "failed", "error": null},
                             {"id": "%s", "status": "processed"},
                             {"id": "%s", "status": "processed"},
                             {"id": "%s", "status": "duplicate"},
                             {"id": "%s", "status": "duplicate"},
                             {"id": "%s", "status": "processed"},
                             {"id": "%s", "status": "failed", "error": "rolled back"}]}"""
                .formatted(failed.id(), failed.id(), processed.id().toString().toUpperCase(), duplicate.id(), duplicate.id(),
                        unreported.id(), unreported.id());

        Map<UUID, Exception> failures = BatchRequests.failures(sent, answer, ENDPOINT);

        assertThat(failures).containsOnlyKeys(failed.id(), unreported.id());
        assertThat(failures.get(failed.id())).hasMessageContaining("the answer reports this message both failed and processed");
        assertThat(failures.get(unreported.id())).hasMessageContaining("both processed and failed");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "not json", "[]", "{}", "{\"results\": {}}", "{\"results\": [\"x\"]}",
            "{\"results\": [{\"status\": \"processed\"}]}", "{\"results\": [{\"id\": \"nope\", \"status\": \"processed\"}]}",
            "{\"results\": []} {}", "{\"results\": [{\"id\": \"0193a5e2-7c3f-7b1e-9f00-1234567890ab\""})
    void an_unreadable_answer_fails_every_message_as_refused(String answer) {
        Map<UUID, Exception> failures = BatchRequests.failures(sent, answer, ENDPOINT);

        assertThat(failures).containsOnlyKeys(processed.id(), duplicate.id(), failed.id(), unreported.id());
        assertThat(failures.values()).allSatisfy(failure -> {
            assertThat(failure).hasMessageStartingWith("unreadable answer from " + ENDPOINT + ": ");
            assertThat(FailureReason.of(failure)).isEqualTo(FailureReason.REFUSED);
        });
    }

    private static OutboxMessage message() {
        return new OutboxMessage(UUID.randomUUID(), 1, "Order", "o-1", "OrderCreated", "{}", Map.of(), Instant.now(), 1);
    }
}
