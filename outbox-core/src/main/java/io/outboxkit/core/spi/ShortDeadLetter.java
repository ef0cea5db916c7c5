package io.outboxkit.core.spi;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

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
 * outbox table (its row, by the {@code id} header) while the relay keeps PUBLISHED messages. {@link
 * #send} walks these steps for every source, each broker saying only whether a copy fits. Stateless
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
     * One of the message's own headers as the copy carries it: its {@code name}, its {@code value} in
     * the broker's form, and the value's {@code length} in characters (as the outbox's text columns
     * and {@link TransportHeaders#read} count it, not bytes).
     *
     * @param <V> the broker's form of a header value
     */
    public record Header<V>(String name, V value, int length) {
    }

    /**
     * A broker's side of {@link #send}: sends one copy of the message, or says it is too large.
     *
     * @param <V> the broker's form of a header value
     * @param <X> the exception the broker's client throws when it fails otherwise
     */
    @FunctionalInterface
    public interface Copy<V, X extends Exception> {

        /**
         * Sends the copy with the message's headers {@code kept}, this source's {@code dead_letter_*}
         * headers carrying {@code error}, {@value #TRUNCATED} set to {@code truncated} (none when null:
         * the full copy), and the message's body when {@code withBody} (an empty one otherwise).
         *
         * @return false, nothing sent, when the copy is too large for the broker; true once it took it
         * @throws X when the broker failed otherwise (the message must then not be acknowledged)
         */
        boolean send(List<Header<V>> kept, String error, String truncated, boolean withBody) throws X;
    }

    /**
     * Sends the largest copy that fits, trying in turn: the full copy with {@code error}; without
     * the headers {@link #keeps} refuses and with {@code shortError} (only when that makes it
     * shorter); then, when {@code bodyCounts}, without the body too; and last,
     * when some envelope header was kept until then, with no header of the message's own at all (and
     * its body when not {@code bodyCounts}). {@code bodyCounts} is false for a broker whose limit
     * does not count the body (RabbitMQ's frame_max limits the header frame only): its copies keep
     * the body.
     *
     * @param own        the message's headers, without this source's {@code dead_letter_*} ones
     * @param shortError the error as the short copies carry it: {@link #error}{@code (error)}, or,
     *                   where the broker escapes the text, the text cut before it is escaped, to at
     *                   most {@value #MAX_ERROR_LENGTH} characters too
     * @return false when no copy fitted, nothing sent
     * @throws X as {@code copy} throws it, at the first copy that failed so
     */
    public static <V, X extends Exception> boolean send(List<Header<V>> own, String error, String shortError,
            boolean bodyCounts, Copy<V, X> copy) throws X {
        if (copy.send(own, error, null, true)) {
            return true;
        }
        List<Header<V>> envelope = new ArrayList<>();
        List<String> dropped = new ArrayList<>();
        for (Header<V> header : own) {
            if (keeps(header.name(), header.length())) {
                envelope.add(header);
            } else {
                dropped.add(header.name());
            }
        }
        // Worth trying whenever it is shorter than the first copy: headers dropped, or the error cut.
        if ((!dropped.isEmpty() || !shortError.equals(error))
                && copy.send(envelope, shortError, truncated(false, dropped), true)) {
            return true;
        }
        if (bodyCounts && copy.send(envelope, shortError, truncated(true, dropped), false)) {
            return true;
        }
        if (envelope.isEmpty()) {
            return false; // the last resort would be the copy just refused
        }
        List<String> all = own.stream().map(Header::name).toList();
        return copy.send(List.of(), shortError, truncated(bodyCounts, all), !bodyCounts);
    }

    /**
     * Whether a short copy keeps the message's header {@code name} whose value is
     * {@code valueLength} long in characters (a value a transport carries as bytes counted once decoded
     * as UTF-8, as the source reads it; not in bytes, which would drop a readable non-ASCII one): the envelope's
     * headers only, and only one no longer than {@value TransportHeaders#MAX_NAME_LENGTH}, so that an
     * unreadable message with a huge {@code aggregate_id} still gets a copy that fits.
     */
    static boolean keeps(String name, int valueLength) {
        return TransportHeaders.RESERVED.contains(name) && valueLength <= TransportHeaders.MAX_NAME_LENGTH;
    }

    /**
     * {@code error} cut to {@value #MAX_ERROR_LENGTH} characters, ending in {@code ...} when cut;
     * never inside a character (a surrogate pair).
     */
    public static String error(String error) {
        // Texts.abbreviate bounds the text it keeps, this the whole copy: its mark comes out of the bound.
        return error.length() <= MAX_ERROR_LENGTH ? error
                : Texts.abbreviate(error, MAX_ERROR_LENGTH - Texts.CUT_MARK.length());
    }

    /**
     * The value of {@value #TRUNCATED}: {@code body} when the body was dropped, then {@code headers: }
     * and the dropped headers' names, comma-separated, when any were; parts joined by {@code "; "}.
     * At most {@value #MAX_LISTED} names, each cut to {@value TransportHeaders#MAX_NAME_LENGTH}
     * characters, then {@code and <K> more}: the copy must stay short however many headers it drops.
     */
    static String truncated(boolean bodyDropped, Collection<String> droppedHeaders) {
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
