package io.outboxkit.core;

import java.util.Map;
import java.util.UUID;

/**
 * What {@link IdempotentHandler#handleAll} did with each message of a batch.
 *
 * @param outcomes the messages whose effect is now committed: PROCESSED now, or DUPLICATE (before)
 * @param failures the messages whose handler threw; nothing of theirs was committed, so a
 *                 redelivery processes them afresh
 */
public record BatchOutcome(Map<UUID, Outcome> outcomes, Map<UUID, MessageHandlingException> failures) {

    /** Copies both maps. */
    public BatchOutcome {
        outcomes = Map.copyOf(outcomes);
        failures = Map.copyOf(failures);
    }
}
