package io.outboxkit.app;

import io.outboxkit.core.InvalidOptionException;
import io.outboxkit.core.OutboxNames;

/**
 * The variables that name the outbox a service works on, read alike by order-service, the consumer
 * and the relay, so that all three name one outbox when it is kept under other names than the
 * defaults ({@link OutboxNames}):
 * {@code OUTBOX_SCHEMA} (default: the connection's current schema, the first of its
 * {@code search_path}), {@code OUTBOX_TABLE} (default {@value OutboxNames#DEFAULT_OUTBOX_TABLE}),
 * {@code PROCESSED_TABLE} (default {@value OutboxNames#DEFAULT_PROCESSED_TABLE}) and
 * {@code OUTBOX_CHANNEL} (default {@value OutboxNames#DEFAULT_CHANNEL}). Unset, they name the
 * outbox of {@link OutboxNames#DEFAULT}.
 */
public final class OutboxNamesSettings {

    private OutboxNamesSettings() {
    }

    /**
     * The names the variables give, checked as {@link OutboxNames} checks them.
     *
     * @throws ConfigException naming the variable at fault and what it may be
     */
    public static OutboxNames from(Env env) {
        try {
            return new OutboxNames(env.string("OUTBOX_SCHEMA", null),
                    env.string("OUTBOX_TABLE", OutboxNames.DEFAULT_OUTBOX_TABLE),
                    env.string("PROCESSED_TABLE", OutboxNames.DEFAULT_PROCESSED_TABLE),
                    env.string("OUTBOX_CHANNEL", OutboxNames.DEFAULT_CHANNEL));
        } catch (InvalidOptionException e) {
            throw new ConfigException(e.reasonNaming(OutboxNamesSettings::variableOf));
        }
    }

    private static String variableOf(String setting) {
        return switch (setting) {
            case "schema" -> "OUTBOX_SCHEMA";
            case "outboxTable" -> "OUTBOX_TABLE";
            case "processedTable" -> "PROCESSED_TABLE";
            case "channel" -> "OUTBOX_CHANNEL";
            default -> null;
        };
    }
}
