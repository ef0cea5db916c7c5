package io.outboxkit.app.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.app.ConfigException;
import io.outboxkit.app.Env;
import io.outboxkit.app.OutboxNamesSettings;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * The check that a service refuses a bad outbox name ({@code OUTBOX_SCHEMA}, {@code OUTBOX_TABLE},
 * {@code PROCESSED_TABLE}, {@code OUTBOX_CHANNEL}) at its start exactly as the relay does: the
 * services and the relay must name one outbox, so they read and check the names alike.
 */
public final class OutboxNameRefusals {

    /** A value no outbox name may take: not a lowercase SQL identifier. */
    public static final String BAD_NAME = "Not-An-Identifier";

    private OutboxNameRefusals() {
    }

    /**
     * Fails unless {@code start}, given {@code env} with {@code variable} set to {@link #BAD_NAME},
     * throws a {@link ConfigException} whose message is the one the relay's start gives (that of
     * {@link OutboxNamesSettings}, which the relay reads the names with) and names {@code variable}.
     * Closes what {@code start} returned when it did not throw.
     */
    public static void assertRefusedAsByTheRelay(Map<String, String> env, String variable,
                                                 Function<Env, AutoCloseable> start) throws Exception {
        Map<String, String> bad = new HashMap<>(env);
        bad.put(variable, BAD_NAME);
        String relays = relaysMessage(Env.of(bad));
        try (AutoCloseable started = start.apply(Env.of(bad))) {
            throw new AssertionError("started with " + variable + "=" + BAD_NAME + ", which the relay refuses: " + relays);
        } catch (ConfigException e) {
            assertThat(e.getMessage()).startsWith(variable + " must be a lowercase SQL identifier").isEqualTo(relays);
        }
    }

    private static String relaysMessage(Env env) {
        try {
            OutboxNamesSettings.from(env);
        } catch (ConfigException e) {
            return e.getMessage();
        }
        throw new AssertionError("the relay takes these names: " + env);
    }
}
