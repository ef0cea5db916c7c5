package io.outboxkit.kafka;

import java.util.Iterator;
import java.util.NavigableSet;
import java.util.TreeSet;

/**
 * The offsets of a partition's records that were dead-lettered beyond its committed offset, as the
 * source writes them into the metadata of its offset commits and reads them back when it is
 * assigned the partition. The committed offset alone cannot say that such a record is done: after a
 * restart or a rebalance it would be read again and, not being in the receiver's record of applied
 * messages, applied after the later messages of its aggregate (and be in the dead-letter topic too).
 *
 * <p>The text is {@value #PREFIX} and then comma-separated offsets or ranges ({@code 3}, {@code
 * 5-9}) counted from the committed offset. It is at most {@value #MAX_LENGTH} characters, within
 * the broker's {@code offset.metadata.max.bytes} (4096 unless set lower): the offsets that do not
 * fit, the highest ones, are left out.
 */
final class DeadLetteredOffsets {

    /** Marks metadata as the source's, so that metadata another tool wrote is never read as offsets. */
    static final String PREFIX = "outboxkit.dead-lettered=";
    static final int MAX_LENGTH = 4000;
    /** More offsets than a partition's queue ever holds beyond its commit: metadata claiming more is not the source's. */
    private static final int MOST_READ = 1_000_000;

    private DeadLetteredOffsets() {
    }

    /** The metadata of a commit at {@code committed}, and how many of {@code offsets} (those at or beyond it) were left out. */
    record Encoded(String metadata, int leftOut) {
    }

    /** Writes the offsets of {@code offsets} at or beyond {@code committed}, the lowest first, as many as fit. */
    static Encoded encode(long committed, NavigableSet<Long> offsets) {
        NavigableSet<Long> beyond = offsets.tailSet(committed, true);
        if (beyond.isEmpty()) {
            return new Encoded("", 0);
        }
        StringBuilder text = new StringBuilder(PREFIX);
        int written = 0;
        Iterator<Long> it = beyond.iterator();
        long first = it.next();
        long last = first;
        while (true) {
            Long next = it.hasNext() ? it.next() : null;
            if (next != null && next == last + 1) {
                last = next;
                continue;
            }
            String range = (first - committed) + (first == last ? "" : "-" + (last - committed));
            String separator = written == 0 ? "" : ",";
            if (text.length() + separator.length() + range.length() > MAX_LENGTH) {
                break;
            }
            text.append(separator).append(range);
            written += (int) (last - first + 1);
            if (next == null) {
                break;
            }
            first = next;
            last = next;
        }
        return new Encoded(written == 0 ? "" : text.toString(), beyond.size() - written);
    }

    /**
     * The offsets {@code metadata} of a commit at {@code committed} lists; none when the metadata is
     * empty or not the source's.
     *
     * @throws IllegalArgumentException when it starts as the source's but cannot be read
     */
    static NavigableSet<Long> decode(long committed, String metadata) {
        NavigableSet<Long> offsets = new TreeSet<>();
        if (metadata == null || !metadata.startsWith(PREFIX)) {
            return offsets;
        }
        String list = metadata.substring(PREFIX.length());
        try {
            for (String range : list.split(",")) {
                int dash = range.indexOf('-');
                long from = Long.parseLong(dash < 0 ? range : range.substring(0, dash));
                long to = dash < 0 ? from : Long.parseLong(range.substring(dash + 1));
                if (from < 0 || to < from || to - from >= MOST_READ || offsets.size() + (to - from) >= MOST_READ) {
                    throw new IllegalArgumentException("bad range " + range);
                }
                for (long delta = from; delta <= to; delta++) {
                    offsets.add(committed + delta);
                }
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a list of offsets: " + list, e);
        }
        return offsets;
    }
}
