package io.outboxkit.spring.autoconfigure;

import io.outboxkit.core.InvalidOptionException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.core.env.Environment;

/**
 * A broker publisher's builder run with the options its properties set, its refusal of an option
 * ({@link InvalidOptionException}) turned into one of the property: the broker modules' builders
 * check their options, so no rule is written twice. Immutable once made.
 */
final class BrokerOptions {

    private final String broker;
    private final Map<String, String> properties = new LinkedHashMap<>();
    private final Map<String, Object> values = new LinkedHashMap<>();

    /** The property that switches on each broker's publisher, in the order the auto-configurations run. */
    private static final List<String> SWITCHES =
            List.of("outboxkit.kafka.bootstrap-servers", "outboxkit.rabbitmq.uri", "outboxkit.nats.url");

    /**
     * Refuses a configuration that switches on more than one broker publisher: one would win by the
     * auto-configurations' order and the others' settings would be ignored without a word.
     *
     * @throws IllegalStateException naming the properties that are set, when more than one is
     */
    static void requireOneBroker(Environment environment) {
        List<String> set = SWITCHES.stream().filter(environment::containsProperty).toList();
        if (set.size() > 1) {
            throw new IllegalStateException("outboxkit: " + String.join(" and ", set)
                    + " are set together; configure one broker publisher (or declare your own MessagePublisher bean)");
        }
    }

    /** Options of {@code broker}'s builder (the name said when a message names no known option). */
    BrokerOptions(String broker) {
        this.broker = broker;
    }

    /** The builder's {@code option} is set from {@code property}, whose value is {@code value}. */
    BrokerOptions option(String option, String property, Object value) {
        properties.put(option, property);
        values.put(property, value);
        return this;
    }

    /**
     * What {@code build} returns.
     *
     * @throws InvalidConfigurationPropertyValueException naming the property at fault, when the
     *                                                    builder refused an option
     */
    <T> T build(Supplier<T> build) {
        try {
            return build.get();
        } catch (InvalidOptionException e) {
            String property = properties.get(e.option());
            if (property == null) {
                throw new IllegalStateException("outboxkit " + broker + " publisher: " + e.getMessage(), e);
            }
            InvalidConfigurationPropertyValueException invalid = new InvalidConfigurationPropertyValueException(
                    property, redacted(property, values.get(property)), e.reasonNaming(properties::get));
            invalid.addSuppressed(e); // its constructor takes no cause
            throw invalid;
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("outboxkit " + broker + " publisher: " + e.getMessage(), e);
        }
    }

    /** A URI's password never goes into a message: the builders redact their own messages, this the value. */
    private static Object redacted(String property, Object value) {
        return property.endsWith(".uri") || property.endsWith(".url") ? "(not shown: it may hold a password)" : value;
    }
}
