package io.outboxkit.relay.console;

import io.outboxkit.core.spi.Texts;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** Reading one request parameter, refusing a bad one with a 400 that names it. */
final class Params {

    private static final int MAX_ECHO = 60;

    private Params() {
    }

    /** The parameter's only value, or null when absent or empty. */
    static String single(Map<String, List<String>> query, String name) {
        List<String> values = query.get(name);
        if (values == null || values.isEmpty()) {
            return null;
        }
        if (values.size() > 1) {
            throw ConsoleError.badRequest(name + " is given " + values.size() + " times: give it once");
        }
        String value = values.get(0);
        return value == null || value.isEmpty() ? null : value;
    }

    /** A text filter: at most {@code maxLength} characters, no control characters; null when absent. */
    static String filter(Map<String, List<String>> query, String name, int maxLength) {
        String value = single(query, name);
        if (value == null) {
            return null;
        }
        if (value.length() > maxLength) {
            throw ConsoleError.badRequest(name + " must be at most " + maxLength + " characters, was " + value.length());
        }
        if (value.chars().anyMatch(Character::isISOControl)) {
            throw ConsoleError.badRequest(name + " must not contain control characters");
        }
        return value;
    }

    /** A whole number from {@code min} to {@code max}; null when absent. */
    static Long number(Map<String, List<String>> query, String name, long min, long max) {
        String value = single(query, name);
        if (value == null) {
            return null;
        }
        try {
            long parsed = Long.parseLong(value);
            if (parsed >= min && parsed <= max) {
                return parsed;
            }
        } catch (NumberFormatException e) {
            // reported below, with the range
        }
        throw ConsoleError.badRequest(name + " must be a whole number from " + min + " to " + max + ", was \""
                + shorten(value) + "\"");
    }

    /** A message id. */
    static UUID messageId(String value) {
        if (value != null && value.length() == 36) {
            try {
                UUID id = UUID.fromString(value);
                if (id.toString().equalsIgnoreCase(value)) {
                    return id;
                }
            } catch (IllegalArgumentException e) {
                // reported below
            }
        }
        throw ConsoleError.badRequest("a message id is a UUID (like 0193a4c2-7d1e-7a00-8000-000000000000), was \""
                + shorten(value) + "\"");
    }

    /** {@code value} cut to a length fit to quote back in an error. */
    static String shorten(String value) {
        if (value == null) {
            return "";
        }
        return Texts.abbreviate(value, MAX_ECHO);
    }
}
