package io.outboxkit.core.spi;

/**
 * Text cut to a length without breaking a character, for the sources and tools that send or show
 * a bounded text (an error in a dead-letter header, say, or the part of a bad value an error
 * message quotes). Stateless and thread-safe.
 */
public final class Texts {

    /** What {@link #abbreviate} puts after a cut text: {@value}. */
    public static final String CUT_MARK = "...";

    private Texts() {
    }

    /**
     * {@code text}'s first {@code max} chars, or one fewer when the cut would split a UTF-16
     * surrogate pair: a lone surrogate has no UTF-8 form, so a driver or a broker client would send
     * '?' in its place, or refuse the text.
     */
    public static String cut(String text, int max) {
        if (text.length() <= max) {
            return text;
        }
        return text.substring(0, max > 0 && Character.isHighSurrogate(text.charAt(max - 1)) ? max - 1 : max);
    }

    /**
     * What an error message quotes of a client's or a peer's text: {@code text} as it is when at
     * most {@code max} characters long, else {@link #cut} to {@code max} followed by {@link #CUT_MARK},
     * so a log line or an error body stays short however long the text was.
     */
    public static String abbreviate(String text, int max) {
        return text.length() <= max ? text : cut(text, max) + CUT_MARK;
    }
}
