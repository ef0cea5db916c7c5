package io.outboxkit.spring.autoconfigure;

import io.outboxkit.core.ClaimMode;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.OutboxPoller;
import io.outboxkit.core.OutboxWriter;
import io.outboxkit.core.OutboxRetention;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * The outbox's settings, under {@code outboxkit.*}. Each default is the library's own (the named
 * constants of {@link OutboxPoller}, {@link OutboxRetention} and {@link OutboxNames}); the values
 * are checked at start by the library's own rules, and a bad one stops the application with a
 * message naming the property ({@code outboxkit.batch-size must be 1 to 10000, was 0}). Durations
 * take Spring's forms: {@code 500ms}, {@code 30s}, {@code 5m}, {@code 7d} (a bare number is
 * milliseconds). Immutable.
 *
 * @param batchSize           messages the poller claims per cycle, 1 to 10000
 * @param workers             poller threads whose cycles overlap, 1 to 64; each needs a pooled connection
 *                            while it claims or records (with claim-mode lock, also while it delivers)
 * @param lease               how long a claim lasts; must exceed the publisher's slowest batch, since a
 *                            message whose lease ran out may be claimed and delivered again
 * @param maxAttempts         deliveries tried before a message is DEAD, at least 1
 * @param ordered             whether messages of one aggregate are delivered in write order
 * @param deadBlocksAggregate with ordering, whether a DEAD message holds back the rest of its aggregate
 *                            until it is requeued
 * @param claimMode           how claimed messages are held while delivered: lease (a committed lease,
 *                            no transaction open during delivery) or lock (row locks held through
 *                            delivery: fewer writes, a connection per worker held meanwhile)
 * @param deleteOnPublish     whether a delivered message is deleted instead of kept as PUBLISHED (then it
 *                            cannot be listed or requeued)
 * @param pollInterval        how long an idle poller waits for a commit's notification before it looks anyway
 * @param statementTimeout    how long one of the poller's SQL statements may run before PostgreSQL cancels it
 * @param maxPayloadBytes     the largest payload the writer writes, in UTF-8 bytes; a larger one is refused
 *                            at write (default 1 MiB)
 * @param maxHeaderBytes      the largest headers the writer writes, as the UTF-8 bytes of their JSON text;
 *                            larger ones are refused at write (default 8 KiB; 0 refuses any header)
 * @param backoff             the delays between a failed delivery and its retry
 * @param poller              whether and under which name the poller runs in this application
 * @param retention           deleting delivered messages and old deduplication records on a schedule
 * @param schema              the library's tables: their names, and whether the starter creates them
 * @param consumer            the consumer name of the handlers IdempotentHandlers creates
 * @param health              when the {@code outbox} health component (Spring Boot's health, with
 *                            spring-boot-health on the class path) reports DOWN
 */
@ConfigurationProperties("outboxkit")
public record OutboxProperties(
        @DefaultValue("" + OutboxPoller.DEFAULT_BATCH_SIZE) int batchSize,
        @DefaultValue("" + OutboxPoller.DEFAULT_WORKERS) int workers,
        @DefaultValue("30s") Duration lease,
        @DefaultValue("" + OutboxPoller.DEFAULT_MAX_ATTEMPTS) int maxAttempts,
        @DefaultValue("true") boolean ordered,
        @DefaultValue("true") boolean deadBlocksAggregate,
        @DefaultValue("lease") ClaimMode claimMode,
        @DefaultValue("false") boolean deleteOnPublish,
        @DefaultValue("1s") Duration pollInterval,
        @DefaultValue("30s") Duration statementTimeout,
        @DefaultValue("" + OutboxWriter.DEFAULT_MAX_PAYLOAD_BYTES) int maxPayloadBytes,
        @DefaultValue("" + OutboxWriter.DEFAULT_MAX_HEADER_BYTES) int maxHeaderBytes,
        @DefaultValue Backoff backoff,
        @DefaultValue Poller poller,
        @DefaultValue Retention retention,
        @DefaultValue Schema schema,
        @DefaultValue Consumer consumer,
        @DefaultValue Health health) {

    /**
     * Retry delays: exponential from {@code initial}, doubling after each failure, capped at {@code max}.
     *
     * @param initial the delay after the first failed delivery
     * @param max     the longest delay, not less than initial
     * @param jitter  the random share of each delay, 0 to 1, so that failures do not retry in step
     */
    public record Backoff(@DefaultValue("1s") Duration initial, @DefaultValue("5m") Duration max,
                          @DefaultValue("" + OutboxPoller.DEFAULT_JITTER) double jitter) {
    }

    /**
     * The poller in this application.
     *
     * @param enabled whether it runs: unset, it runs when the application has a MessagePublisher bean
     *                or an OutboxPoller bean of its own (and says so in one INFO line when it has
     *                neither); true requires one (the start fails without it); false never runs it,
     *                the application's own neither, and makes no broker publisher (the outbox-relay
     *                process delivers instead). Read as Spring binds it: on, yes and 1 are true, off,
     *                no and 0 false, as for every switch of the starter
     * @param name    the lease owner written on claimed messages, and the prefix of the poller's log
     *                lines; unset, host-pid-random, unique per poller
     */
    public record Poller(Boolean enabled, String name) {
    }

    /**
     * Retention on a schedule, through OutboxRetention: PENDING and DEAD messages are never deleted.
     *
     * @param enabled     whether this application runs it (the outbox-relay process runs its own)
     * @param published   how long delivered (PUBLISHED) messages are kept
     * @param dedupWindow how long processed-message records are kept; a redelivery later than this is
     *                    processed again, so keep it longer than any retry schedule plus a requeue
     * @param interval    the pause between two runs, 1 ms to 36500 days
     */
    public record Retention(@DefaultValue("false") boolean enabled, @DefaultValue("7d") Duration published,
                            @DefaultValue("30d") Duration dedupWindow, @DefaultValue("1m") Duration interval) {
    }

    /**
     * The library's database objects. The channel is part of them: the outbox's insert trigger
     * notifies on it, and the pollers listen on it.
     *
     * @param manage         whether the starter applies the library's schema at start (Flyway, in a history
     *                       table of its own, after the application's own Flyway); false leaves it to you
     * @param name           the PostgreSQL schema of both tables (created when missing); unset, the
     *                       connection's current schema (usually public)
     * @param outboxTable    the outbox table
     * @param processedTable the table of messages each consumer processed
     * @param channel        the NOTIFY channel a commit to the outbox wakes pollers on
     */
    public record Schema(@DefaultValue("true") boolean manage, String name,
                         @DefaultValue(OutboxNames.DEFAULT_OUTBOX_TABLE) String outboxTable,
                         @DefaultValue(OutboxNames.DEFAULT_PROCESSED_TABLE) String processedTable,
                         @DefaultValue(OutboxNames.DEFAULT_CHANNEL) String channel) {
    }

    /**
     * Consumers written in this application.
     *
     * @param name                     the consumer name processed messages are recorded under by
     *                                 IdempotentHandlers.create(handler); each consumer processes every
     *                                 message once
     * @param idleInTransactionTimeout how long a handler's transaction may sit idle between two
     *                                 statements before PostgreSQL ends it (the message is then delivered
     *                                 again), so that a replica whose host died holds a redelivery up that
     *                                 long at most; 0 leaves the server's, database's or role's setting,
     *                                 which a shorter one of theirs stays in force over anyway; 1 ms to
     *                                 2147483647 ms otherwise
     */
    public record Consumer(String name, @DefaultValue("10s") Duration idleInTransactionTimeout) {
    }

    /**
     * The {@code outbox} health component: DOWN when a poller the starter runs is stopped, when
     * the outbox's figures cannot be read, or when the oldest due PENDING message has waited longer
     * than {@code maxPendingAge}. Turned off, like every health component, by
     * {@code management.health.outbox.enabled=false}.
     *
     * @param maxPendingAge how long the oldest due PENDING message may wait, from its write, before the
     *                      component reports DOWN; 1 ms to 36500 days
     */
    public record Health(@DefaultValue("5m") Duration maxPendingAge) {
    }
}
