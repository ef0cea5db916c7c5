package io.outboxkit.core.spi;

import java.util.Collection;

/**
 * The one shape of the last-resort dead-letter copy every source sends when the broker refuses
 * the whole copy as too large (the publisher took a message just under the broker's limit, and
 * the copy adds the {@code dead_letter_*} headers): without it such a message would be retried for
 * ever and hold up its aggregate. The short copy keeps the envelope's headers ({@link
 * TransportHeaders#RESERVED}) whose values are at most {@value TransportHeaders#MAX_NAME_LENGTH}
 * long (as a readable envelope's are) and the source's {@code dead_letter_*} headers with the
 * error cut to {@value #MAX_ERROR_LENGTH} characters, drops the message's other headers and then,
 * if still too large, its body, and, as a last resort, every header of the message's own; it says
 * what it dropped in {@value #TRUNCATED}, which names at most {@value #MAX_LISTED} headers. The original stays in the
 * outbox table (its row, by the {@code id} header) while the relay keeps PUBLISHED messages. Stateless
 * and thread-safe.
 */
public final class ShortDeadLetter {

    /** The header naming what the copy left out: {@code body} and/or {@code headers: <names>}. */
    public static final String TRUNCATED = "dead_letter_truncated";
    /** The longest error text a short copy carries. */
    public static final int MAX_ERROR_LENGTH = 500;
    /** The most dropped headers {@value #TRUNCATED} names; it counts the others. */
    public static final int MAX_LISTED = 20;

    private ShortDeadLetter() {
    }

    /**
     * Whether a short copy keeps the message's header {@code name} whose value is
     * {@code valueLength} long (in characters or bytes, as the transport counts it): the envelope's
     * headers only, and only one no longer than {@value TransportHeaders#MAX_NAME_LENGTH}, so that an
     * unreadable message with a huge {@code aggregate_id} still gets a copy that fits.
     */
    public static boolean keeps(String name, int valueLength) {
        return TransportHeaders.RESERVED.contains(name) && valueLength <= TransportHeaders.MAX_NAME_LENGTH;
    }

    /**
     * {@code error} cut to {@value #MAX_ERROR_LENGTH} characters, ending in {@code ...} when cut;
     * never inside a character (a surrogate pair).
     */
    public static String error(String error) {
        return error.length() <= MAX_ERROR_LENGTH ? error : Texts.cut(error, MAX_ERROR_LENGTH - 3) + "...";
    }

    /**
     * The value of {@value #TRUNCATED}: {@code body} when the body was dropped, then {@code headers: }
     * and the dropped headers' names, comma-separated, when any were; parts joined by {@code "; "}.
     * At most {@value #MAX_LISTED} names, each cut to {@value TransportHeaders#MAX_NAME_LENGTH}
     * characters, then {@code and <K> more}: the copy must stay short however many headers it drops.
     */
    public static String truncated(boolean bodyDropped, Collection<String> droppedHeaders) {
        StringBuilder out = new StringBuilder(bodyDropped ? "body" : "");
        if (!droppedHeaders.isEmpty()) {
            out.append(out.isEmpty() ? "" : "; ").append("headers: ");
            droppedHeaders.stream().limit(MAX_LISTED).forEach(name -> out.append(
                    Texts.cut(name, TransportHeaders.MAX_NAME_LENGTH)).append(", "));
            out.setLength(out.length() - 2);
            if (droppedHeaders.size() > MAX_LISTED) {
                out.append(" and ").append(droppedHeaders.size() - MAX_LISTED).append(" more");
            }
        }
        return out.toString();
    }
}
