package io.outboxkit.relay.console;

/**
 * HTML written by this package: markup is added only as literals of this package ({@link #raw}),
 * and every other value through {@link #text} or {@link #attr}, which escape it with
 * {@link #escape}, the console's one escaping function. So a value from the database (a payload, a
 * header, an error, an id) or from a request is always characters on the page, never markup.
 * Not thread-safe: one per rendering.
 */
final class Html {

    private final StringBuilder out = new StringBuilder(4096);

    /**
     * {@code value} as text safe in an element's content and in a double- or single-quoted
     * attribute value: {@code & < > " '} become character references; null is the empty string.
     */
    static String escape(Object value) {
        if (value == null) {
            return "";
        }
        String text = value.toString();
        StringBuilder escaped = new StringBuilder(text.length() + 16);
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '&' -> escaped.append("&amp;");
                case '<' -> escaped.append("&lt;");
                case '>' -> escaped.append("&gt;");
                case '"' -> escaped.append("&quot;");
                case '\'' -> escaped.append("&#39;");
                default -> escaped.append(c);
            }
        }
        return escaped.toString();
    }

    /** Appends markup: only a literal written in this package, never a value from outside. */
    Html raw(String markup) {
        out.append(markup);
        return this;
    }

    /** Appends {@code value} as text ({@link #escape}). */
    Html text(Object value) {
        out.append(escape(value));
        return this;
    }

    /** Appends {@code  name="value"} with the value escaped; {@code name} is a literal of this package. */
    Html attr(String name, Object value) {
        out.append(' ').append(name).append("=\"").append(escape(value)).append('"');
        return this;
    }

    /** Appends another rendering's HTML (itself built by this class). */
    Html add(Html other) {
        out.append(other.out);
        return this;
    }

    @Override
    public String toString() {
        return out.toString();
    }
}
