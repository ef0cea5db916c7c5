package io.outboxkit.core.spi;

import io.outboxkit.core.OutboxMessage;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** What a {@link MessageSource} hands each batch of messages to: the application's effect of them. */
@FunctionalInterface
public interface BatchReceiver {

    /**
     * Applies a batch. Called by one thread at a time per source, in the order of each aggregate's
     * messages.
     *
     * @return the messages that failed, by id, with why: they are delivered again later; every
     *     other message of the batch counts as done and is acknowledged. A message in the map
     *     failed even when its value is null (its error then says the receiver gave no
     *     exception). Returning null, or throwing, fails the whole batch: every message of it is
     *     delivered again.
     */
    Map<UUID, ? extends Exception> receive(List<OutboxMessage> batch) throws Exception;
}
