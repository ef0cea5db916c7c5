package io.outboxkit.core.spi;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * The one reading of a batch's failures as an implementer reports them
 * ({@link BatchReceiver#receive}, {@link MessagePublisher#publishAll}), shared by the poller and
 * every source so that none tells a failure from a success differently: a message listed in the map
 * failed, whatever its value. (A null map fails the whole batch; each caller does that its own way.)
 */
public final class BatchFailures {

    private BatchFailures() {
    }

    /**
     * {@code failures} with every null value replaced by an {@link IllegalStateException} saying
     * that {@code reporter} listed the message as failed without an exception: a message listed
     * without a cause is retried like any failed one, never taken as done (acknowledged, and so
     * lost) nor left unrecordable. The returned map has a non-null value for every key.
     *
     * @param failures what the implementer returned; not null
     * @param reporter who returned it, for the substituted exception's message ("the receiver", a
     *     publisher's class and method)
     */
    public static Map<UUID, Exception> withCauses(Map<UUID, ? extends Exception> failures, String reporter) {
        Map<UUID, Exception> read = new LinkedHashMap<>(failures);
        read.replaceAll((id, cause) -> cause != null ? cause
                : new IllegalStateException(reporter + " listed message " + id + " as failed without an exception"));
        return read;
    }
}
