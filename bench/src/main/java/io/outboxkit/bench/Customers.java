package io.outboxkit.bench;

import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The bench's customers, {@code 00000000-0000-4000-8000-} and a 12-digit number, as its SQL and
 * wrk's script make them. Made once: formatting an id per order cost the in-process writers a
 * seventh of their CPU, which the services, given the id in the request, do not spend.
 */
final class Customers {

    private static final UUID[] ALL = ids(BenchMain.USERS);

    private Customers() {
    }

    /** The ids of customers 0 to {@code count - 1}. */
    static UUID[] ids(int count) {
        UUID[] ids = new UUID[count];
        for (int i = 0; i < count; i++) {
            ids[i] = UUID.fromString(String.format("00000000-0000-4000-8000-%012d", i));
        }
        return ids;
    }

    /** One of the {@link BenchMain#USERS} customers, at random. Thread-safe. */
    static UUID random() {
        return ALL[ThreadLocalRandom.current().nextInt(ALL.length)];
    }
}
