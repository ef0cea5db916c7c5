package io.outboxkit.core;

/**
 * The check of every text the library stores in PostgreSQL from a caller's hands (a message's
 * fields, a poller's name, a consumer's name): PostgreSQL cannot store a NUL character, and a lone
 * UTF-16 surrogate has no UTF-8 form, so the driver would silently send '?' in its place (the text
 * stored, and later delivered or matched, would not be the one given).
 */
final class StorableText {

    private StorableText() {
    }

    /**
     * Why {@code text} cannot be stored as given, as a reason naming {@code field}; null when it
     * can. One pass over its chars: it runs on every message written, payload included.
     */
    static String refusal(String field, String text) {
        int length = text.length();
        for (int i = 0; i < length; i++) {
            char c = text.charAt(i);
            if (c == '\u0000') {
                return field + " must not contain a NUL character (U+0000): PostgreSQL cannot store it";
            }
            if (Character.isSurrogate(c)) {
                if (Character.isHighSurrogate(c) && i + 1 < length && Character.isLowSurrogate(text.charAt(i + 1))) {
                    i++; // a pair: one character, stored as it is
                    continue;
                }
                return field + " must not contain a lone UTF-16 surrogate (U+" + Integer.toHexString(c).toUpperCase()
                        + " at index " + i + ", as left by cutting a string inside a character): it has no UTF-8 "
                        + "form, so PostgreSQL would store '?' in its place";
            }
        }
        return null;
    }
}
