package io.outboxkit.relay.console;

import io.outboxkit.core.LeaseHolder;
import io.outboxkit.core.OutboxAdmin;
import io.outboxkit.core.OutboxCounts;
import io.outboxkit.core.PendingAge;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * What the console shows at a glance: counts by status, the oldest due pending message, the lease
 * holders. Taken from the database at most once per {@link #MAX_AGE} whatever the number of open
 * pages, so that ten tabs refreshing every second cost the database what one does.
 *
 * @param counts  rows by status
 * @param oldest  the oldest due pending message, if any
 * @param leases  the pollers holding leases
 * @param takenAt when it was read
 */
record Overview(OutboxCounts counts, Optional<PendingAge> oldest, List<LeaseHolder> leases, Instant takenAt) {

    /** How long one reading serves every page. */
    static final Duration MAX_AGE = Duration.ofSeconds(1);

    /** Reads the overview from {@code admin}, sharing one reading between callers for {@link #MAX_AGE}. Thread-safe. */
    static final class Cache {

        private final OutboxAdmin admin;
        private final LongSupplier nanoClock;
        private Overview current;
        private long readAtNanos;

        Cache(OutboxAdmin admin, LongSupplier nanoClock) {
            this.admin = admin;
            this.nanoClock = nanoClock;
        }

        /**
         * The current overview, read anew when the last is older than {@link #MAX_AGE}.
         *
         * @throws io.outboxkit.core.OutboxException when the database fails
         */
        synchronized Overview get() {
            long now = nanoClock.getAsLong();
            if (current == null || now - readAtNanos >= MAX_AGE.toNanos()) {
                current = new Overview(admin.counts(), admin.oldestDuePending(), admin.leaseHolders(), Instant.now());
                readAtNanos = now;
            }
            return current;
        }
    }
}
