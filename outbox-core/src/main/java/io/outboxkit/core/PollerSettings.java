package io.outboxkit.core;

import java.time.Duration;
import java.util.List;

/**
 * Every setting of an {@link OutboxPoller}, checked and fixed when the poller is built: nothing
 * changes them afterwards. Built by {@link OutboxPoller.Builder#build()}, whose setters document
 * each one and its default; read back with {@link OutboxPoller#settings()}. Immutable.
 *
 * @param name                       the lease owner recorded on claimed messages, and the log prefix:
 *                                   1 to {@value #MAX_NAME_LENGTH} characters, not blank, with no NUL
 *                                   and no lone UTF-16 surrogate, which PostgreSQL cannot store as given
 * @param names                      the outbox's tables and wake-up channel
 * @param batchSize                  messages claimed per cycle, 1 to {@value #MAX_BATCH_SIZE}
 * @param workers                    worker threads, 1 to {@value #MAX_WORKERS}
 * @param claimMode                  how claimed messages are held while delivered
 * @param deleteOnPublish            whether a delivered message is deleted instead of kept as PUBLISHED
 * @param pollInterval               how long an idle poller waits for a notification before it looks anyway
 * @param lease                      how long a claim lasts; with {@link ClaimMode#LOCK}, at most
 *                                   {@value #MAX_STATEMENT_TIMEOUT_MILLIS} ms (it is then PostgreSQL's
 *                                   idle-in-transaction timeout)
 * @param statementTimeout           how long one of the poller's statements may run, at most
 *                                   {@value #MAX_STATEMENT_TIMEOUT_MILLIS} ms
 * @param maxAttempts                deliveries tried before a message is DEAD, at least 1
 * @param initialBackoff             the retry delay after the first failure
 * @param maxBackoff                 the longest retry delay, not less than {@code initialBackoff}
 * @param jitter                     the random share of each retry delay, 0 to 1
 * @param orderedByAggregate         whether an aggregate's messages are delivered in write order
 * @param deadMessagesBlockAggregate with ordering, whether a DEAD message holds back the rest of its aggregate
 *
 * <p>Every duration is at least 1 ms and at most {@link #MAX_DURATION}.
 */
public record PollerSettings(String name, OutboxNames names, int batchSize, int workers, ClaimMode claimMode,
                             boolean deleteOnPublish, Duration pollInterval, Duration lease, Duration statementTimeout,
                             int maxAttempts, Duration initialBackoff, Duration maxBackoff, double jitter,
                             boolean orderedByAggregate, boolean deadMessagesBlockAggregate) {

    /** The most messages one claim may take. */
    public static final int MAX_BATCH_SIZE = 10_000;
    /** The most worker threads one poller may run. */
    public static final int MAX_WORKERS = 64;
    /** The longest name. */
    public static final int MAX_NAME_LENGTH = 200;
    /** The longest of any duration setting: longer is a mistake, and would overflow the poller's clock arithmetic. */
    public static final Duration MAX_DURATION = Duration.ofDays(365);
    /** The longest statement timeout PostgreSQL accepts, in milliseconds. */
    public static final long MAX_STATEMENT_TIMEOUT_MILLIS = Integer.MAX_VALUE;

    /**
     * Checks every setting.
     *
     * @throws InvalidOptionException naming the first setting at fault and what it may be
     */
    public PollerSettings {
        require(name != null && !name.isBlank() && name.length() <= MAX_NAME_LENGTH, "name",
                "name must be 1 to " + MAX_NAME_LENGTH + " characters, was " + describe(name));
        String unstorable = StorableText.refusal("name", name);
        require(unstorable == null, "name", unstorable);
        require(names != null, "names", "names must not be null");
        require(batchSize >= 1 && batchSize <= MAX_BATCH_SIZE, "batchSize",
                "batchSize must be 1 to " + MAX_BATCH_SIZE + ", was " + batchSize);
        require(workers >= 1 && workers <= MAX_WORKERS, "workers", "workers must be 1 to " + MAX_WORKERS + ", was " + workers);
        require(claimMode != null, "claimMode", "claimMode must not be null");
        requireDuration("pollInterval", pollInterval);
        requireDuration("lease", lease);
        require(claimMode != ClaimMode.LOCK || lease.compareTo(Duration.ofMillis(MAX_STATEMENT_TIMEOUT_MILLIS)) <= 0, "lease",
                "lease must be at most " + MAX_STATEMENT_TIMEOUT_MILLIS + " ms with claimMode LOCK (it is PostgreSQL's "
                        + "idle-in-transaction timeout then), was " + lease);
        requireDuration("statementTimeout", statementTimeout);
        require(statementTimeout.compareTo(Duration.ofMillis(MAX_STATEMENT_TIMEOUT_MILLIS)) <= 0, "statementTimeout",
                "statementTimeout must be at most " + MAX_STATEMENT_TIMEOUT_MILLIS + " ms (PostgreSQL's limit), was "
                        + statementTimeout);
        require(maxAttempts >= 1, "maxAttempts", "maxAttempts must be at least 1, was " + maxAttempts);
        requireDuration("initialBackoff", initialBackoff);
        requireDuration("maxBackoff", maxBackoff);
        require(maxBackoff.compareTo(initialBackoff) >= 0, List.of("maxBackoff", "initialBackoff"),
                "maxBackoff (" + maxBackoff + ") must not be less than initialBackoff (" + initialBackoff + ")");
        require(jitter >= 0 && jitter <= 1, "jitter", "jitter must be 0 to 1, was " + jitter);
    }

    private static void requireDuration(String setting, Duration value) {
        require(value != null && value.compareTo(Duration.ofMillis(1)) >= 0, setting,
                setting + " must be at least 1 ms, was " + value);
        require(value.compareTo(MAX_DURATION) <= 0, setting, setting + " must be at most " + MAX_DURATION + ", was " + value);
    }

    private static void require(boolean valid, String setting, String reason) {
        require(valid, List.of(setting), reason);
    }

    private static void require(boolean valid, List<String> settings, String reason) {
        if (!valid) {
            throw new InvalidOptionException("OutboxPoller", settings, reason);
        }
    }

    private static String describe(String name) {
        return name == null ? "null" : name.length() > 60 ? name.length() + " characters" : "\"" + name + "\"";
    }
}
