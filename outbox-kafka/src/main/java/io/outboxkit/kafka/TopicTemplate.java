package io.outboxkit.kafka;

import io.outboxkit.core.InvalidOptionException;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.spi.Texts;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A topic name with placeholders ({@value #AGGREGATE_TYPE}, {@value #EVENT_TYPE}) filled from each
 * message; checked once at build (placeholders known, literal text of legal characters) and the
 * result checked for each message (a legal Kafka topic name). Immutable.
 */
final class TopicTemplate {

    static final String AGGREGATE_TYPE = "{aggregate_type}";
    static final String EVENT_TYPE = "{event_type}";
    /** Kafka's limit on a topic name's length. */
    static final int MAX_TOPIC_LENGTH = 249;

    private static final Pattern LEGAL = Pattern.compile("[a-zA-Z0-9._-]+");
    private static final Pattern PLACEHOLDER = Pattern.compile("\\{[^{}]*}");
    /** The builder option a template is set by. */
    private static final String OPTION = "topicTemplate";

    private final String template;
    private final List<Function<OutboxMessage, String>> parts;

    private TopicTemplate(String template, List<Function<OutboxMessage, String>> parts) {
        this.template = template;
        this.parts = parts;
    }

    /**
     * Parses {@code template}.
     *
     * @throws InvalidOptionException naming the unknown placeholder, the stray brace or the
     *                                  illegal character
     */
    static TopicTemplate parse(String template) {
        if (template == null || template.isBlank()) {
            throw new InvalidOptionException(OPTION, "topicTemplate must not be blank; e.g. outbox.event.{aggregate_type}");
        }
        List<Function<OutboxMessage, String>> parts = new ArrayList<>();
        Matcher m = PLACEHOLDER.matcher(template);
        int at = 0;
        while (m.find()) {
            literal(template, template.substring(at, m.start()), parts);
            parts.add(switch (m.group()) {
                case AGGREGATE_TYPE -> OutboxMessage::aggregateType;
                case EVENT_TYPE -> OutboxMessage::eventType;
                default -> throw new InvalidOptionException(OPTION, "topicTemplate '" + template + "' has an unknown placeholder "
                        + m.group() + "; the known ones are " + AGGREGATE_TYPE + " and " + EVENT_TYPE);
            });
            at = m.end();
        }
        literal(template, template.substring(at), parts);
        if (parts.size() == 1 && !template.contains("{")) {
            requireLegal(template, OPTION, "topicTemplate '" + template + "'");
        }
        return new TopicTemplate(template, List.copyOf(parts));
    }

    private static void literal(String template, String text, List<Function<OutboxMessage, String>> parts) {
        if (text.isEmpty()) {
            return;
        }
        if (!LEGAL.matcher(text).matches()) {
            throw new InvalidOptionException(OPTION, "topicTemplate '" + template + "' has '" + text + "' outside a placeholder;"
                    + " a topic name may hold only letters, digits, '.', '_' and '-', and placeholders "
                    + AGGREGATE_TYPE + " and " + EVENT_TYPE);
        }
        parts.add(message -> text);
    }

    /**
     * The topic of {@code message}.
     *
     * @throws IllegalArgumentException when the result is not a legal topic name, saying why
     */
    String topicFor(OutboxMessage message) {
        StringBuilder topic = new StringBuilder();
        for (Function<OutboxMessage, String> part : parts) {
            topic.append(part.apply(message));
        }
        String name = topic.toString();
        String illegality = illegality(name);
        if (illegality != null) {
            throw new IllegalArgumentException("the topic '" + Texts.abbreviate(name, 80) + "' (from template " + template + ") "
                    + illegality);
        }
        return name;
    }

    /**
     * Requires {@code name}, the value of the builder's {@code option}, to be a legal Kafka topic
     * name: 1 to {@value #MAX_TOPIC_LENGTH} of letters, digits, {@code .}, {@code _} and {@code -},
     * not {@code .} or {@code ..} alone.
     *
     * @throws InvalidOptionException naming {@code option}, its message starting with {@code what}
     */
    static void requireLegal(String name, String option, String what) {
        String illegality = illegality(name);
        if (illegality != null) {
            throw new InvalidOptionException(option, what + " " + illegality);
        }
    }

    /** Why {@code name} is not a legal Kafka topic name ("is not a legal Kafka topic name: ..."), or null when it is one. */
    private static String illegality(String name) {
        if (name.length() > MAX_TOPIC_LENGTH) {
            return "is " + name.length() + " characters long; Kafka allows at most " + MAX_TOPIC_LENGTH;
        }
        if (!LEGAL.matcher(name).matches() || name.equals(".") || name.equals("..")) {
            return "is not a legal Kafka topic name: only letters, digits, '.', '_' and '-' are allowed (and not '.' or "
                    + "'..' alone)";
        }
        return null;
    }


    @Override
    public String toString() {
        return template;
    }
}
