package io.outboxkit.app;

import io.outboxkit.core.spi.Texts;

/**
 * What a service's error message quotes of a client's or a peer's text: short enough for a log
 * line or an error body however long the text was. Stateless and thread-safe.
 */
public final class Echo {

    private Echo() {
    }

    /**
     * {@code text} as it is when at most {@code max} characters long, else its first {@code max}
     * (one fewer rather than half a surrogate pair, see {@link Texts#cut}) followed by {@code ...}.
     */
    public static String of(String text, int max) {
        return text.length() <= max ? text : Texts.cut(text, max) + "...";
    }
}
