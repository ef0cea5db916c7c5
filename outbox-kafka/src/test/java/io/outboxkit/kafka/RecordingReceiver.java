package io.outboxkit.kafka;

import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.spi.BatchReceiver;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/**
 * A receiver that records every batch it gets and what it did with each message: fails those
 * {@code failWith} returns an error for, applies the rest. Thread-safe.
 */
final class RecordingReceiver implements BatchReceiver {

    private final Function<OutboxMessage, String> failWith;
    final List<List<OutboxMessage>> batches = new CopyOnWriteArrayList<>();
    /** The messages applied (not failed), in the order they were applied. */
    final List<OutboxMessage> applied = new CopyOnWriteArrayList<>();
    /** What the source said it dead-lettered, in order: a message's id, or "unreadable". */
    final List<String> deadLettered = new CopyOnWriteArrayList<>();

    RecordingReceiver(Function<OutboxMessage, String> failWith) {
        this.failWith = failWith;
    }

    static RecordingReceiver applyingAll() {
        return new RecordingReceiver(m -> null);
    }

    @Override
    public Map<UUID, ? extends Exception> receive(List<OutboxMessage> batch) {
        batches.add(List.copyOf(batch));
        Map<UUID, Exception> failures = new LinkedHashMap<>();
        for (OutboxMessage m : batch) {
            String error = failWith.apply(m);
            if (error != null) {
                failures.put(m.id(), new IllegalStateException(error));
            } else {
                applied.add(m);
            }
        }
        return failures;
    }

    /** Records each dead-lettered message: its id, or {@code "unreadable"}. */
    @Override
    public void deadLettered(OutboxMessage message, String error) {
        deadLettered.add(message == null ? "unreadable" : message.id().toString());
    }

    /** Every delivery of {@code id}, in order. */
    List<OutboxMessage> deliveriesOf(UUID id) {
        List<OutboxMessage> of = new ArrayList<>();
        batches.forEach(b -> b.stream().filter(m -> m.id().equals(id)).forEach(of::add));
        return of;
    }
}
