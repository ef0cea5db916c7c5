package io.outboxkit.core.spi;

import java.util.Collection;

/**
 * The one shape of the last-resort dead-letter copy every source sends when the broker refuses
 * the whole copy as too large (the publisher took a message just under the broker's limit, and
 * the copy adds the {@code dead_letter_*} headers): without it such a message would be retried for
 * ever and hold up its aggregate. The short copy keeps the envelope's headers ({@link
 * TransportHeaders#RESERVED}) and the source's {@code dead_letter_*} headers with the error cut to
 * {@value #MAX_ERROR_LENGTH} characters, drops the message's own headers and then, if still too
 * large, its body, and says what it dropped in {@value #TRUNCATED}. The original stays in the
 * outbox table (its row, by the {@code id} header) while the relay keeps PUBLISHED messages. Stateless
 * and thread-safe.
 */
public final class ShortDeadLetter {

    /** The header naming what the copy left out: {@code body} and/or {@code headers: <names>}. */
    public static final String TRUNCATED = "dead_letter_truncated";
    /** The longest error text a short copy carries. */
    public static final int MAX_ERROR_LENGTH = 500;

    private ShortDeadLetter() {
    }

    /** Whether a short copy keeps the message's header {@code name}: the envelope's headers only. */
    public static boolean keeps(String name) {
        return TransportHeaders.RESERVED.contains(name);
    }

    /** {@code error} cut to {@value #MAX_ERROR_LENGTH} characters, ending in {@code ...} when cut. */
    public static String error(String error) {
        return error.length() <= MAX_ERROR_LENGTH ? error : error.substring(0, MAX_ERROR_LENGTH - 3) + "...";
    }

    /**
     * The value of {@value #TRUNCATED}: {@code body} when the body was dropped, then {@code headers: }
     * and the dropped headers' names, comma-separated, when any were; parts joined by {@code "; "}.
     */
    public static String truncated(boolean bodyDropped, Collection<String> droppedHeaders) {
        StringBuilder out = new StringBuilder(bodyDropped ? "body" : "");
        if (!droppedHeaders.isEmpty()) {
            out.append(out.isEmpty() ? "" : "; ").append("headers: ").append(String.join(", ", droppedHeaders));
        }
        return out.toString();
    }
}
