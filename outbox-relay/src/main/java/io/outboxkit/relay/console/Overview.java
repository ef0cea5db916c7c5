package io.outboxkit.relay.console;

import io.outboxkit.core.LeaseHolder;
import io.outboxkit.core.OutboxAdmin;
import io.outboxkit.core.OutboxMonitor;
import io.outboxkit.core.OutboxSnapshot;
import java.time.Duration;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * What the console shows at a glance: the outbox's figures as the metrics report them (counts,
 * the oldest pending message) and the lease holders. Taken from the database at most once per
 * {@link #MAX_AGE} whatever the number of open pages, so that ten tabs refreshing every second
 * cost the database what one does.
 *
 * @param figures the outbox's figures, from the relay's {@link OutboxMonitor}
 * @param leases  the pollers holding leases
 */
record Overview(OutboxSnapshot figures, List<LeaseHolder> leases) {

    /** How long one reading serves every page. */
    static final Duration MAX_AGE = Duration.ofSeconds(1);

    /** Reads the overview, sharing one reading between callers for {@link #MAX_AGE}. Thread-safe. */
    static final class Cache {

        private final OutboxAdmin admin;
        private final OutboxMonitor monitor;
        private final LongSupplier nanoClock;
        private Overview current;
        private long readAtNanos;

        Cache(OutboxAdmin admin, OutboxMonitor monitor, LongSupplier nanoClock) {
            this.admin = admin;
            this.monitor = monitor;
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
                current = new Overview(monitor.snapshot(), admin.leaseHolders());
                readAtNanos = now;
            }
            return current;
        }
    }
}
