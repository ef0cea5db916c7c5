package io.outboxkit.nats;

import io.outboxkit.core.InvalidOptionException;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/**
 * NATS names: the subject of a message and the checks of a stream, consumer or subject-prefix name.
 *
 * <p>A type becomes one subject token: ASCII letters, digits, {@code -} and {@code _} stay as they
 * are; every other character, {@code %} included, is written as {@code %XX} per byte of its UTF-8
 * form. So a {@code .}, {@code *}, {@code >} or space in a type can never add a token or a wildcard,
 * different types never share a token, and the usual names ({@code Order}, {@code OrderCreated})
 * read unchanged.
 */
final class Subjects {

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-]{1,200}");
    private static final Pattern PREFIX = Pattern.compile("[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*");
    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    private Subjects() {
    }

    /** {@code prefix.<aggregate type token>.<event type token>}. */
    static String of(String prefix, String aggregateType, String eventType) {
        return prefix + "." + token(aggregateType) + "." + token(eventType);
    }

    /** {@code text} as one subject token (see the class comment). */
    static String token(String text) {
        StringBuilder token = new StringBuilder(text.length());
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xFF);
            if (c < 0x80 && (Character.isLetterOrDigit(c) || c == '-' || c == '_')) {
                token.append(c);
            } else {
                token.append('%').append(HEX[c >> 4]).append(HEX[c & 0xF]);
            }
        }
        return token.toString();
    }

    /** Checks a stream or consumer name: NATS forbids {@code .}, {@code *}, {@code >} and spaces in it. */
    static String checkName(String option, String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new InvalidOptionException(option, option + " must be 1 to 200 of the characters A-Z a-z 0-9 - _, not '"
                    + name + "'");
        }
        return name;
    }

    /** Checks a subject prefix: one or more tokens of those characters separated by dots. */
    static String checkPrefix(String option, String prefix) {
        if (prefix == null || !PREFIX.matcher(prefix).matches()) {
            throw new InvalidOptionException(option, option + " must be one or more tokens of A-Z a-z 0-9 - _ separated by "
                    + "dots (e.g. outbox), not '" + prefix + "'");
        }
        return prefix;
    }
}
