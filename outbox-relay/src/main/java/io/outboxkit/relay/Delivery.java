package io.outboxkit.relay;

import io.outboxkit.app.ConfigException;
import java.util.Locale;

/** How the relay hands a claimed batch to the consumer ({@code DELIVERY}). */
public enum Delivery {
    /**
     * The whole batch in one request to {@code CONSUMER_URL + "/batch"}, which the consumer
     * processes in one transaction and answers with one result per message (the default).
     */
    BATCH,
    /** One request per message to {@code CONSUMER_URL}, up to {@code MAX_IN_FLIGHT} at once. */
    SINGLE;

    /**
     * Parses {@code batch} or {@code single} (any case).
     *
     * @throws ConfigException naming {@code variable} for anything else
     */
    static Delivery parse(String variable, String value) {
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "batch" -> BATCH;
            case "single" -> SINGLE;
            default -> throw new ConfigException(variable + "=" + value + " is not batch or single");
        };
    }
}
