package io.outboxkit.core;

/**
 * How an {@link OutboxPoller} holds the messages it is delivering, so that no other poller takes
 * them meanwhile. Both deliver at least once, keep order per aggregate the same way, and may run
 * side by side on one database.
 */
public enum ClaimMode {

    /**
     * The claim is a short transaction that writes a lease (owner and end time) on the messages
     * and commits; delivery runs with no transaction open, and the outcome is recorded in a second
     * one. A poller that dies leaves its messages leased until the lease ends. Two writes of each
     * message row (the claim's in place, adding no index entry, where the schema leaves room on the
     * row's page: the outbox table's fillfactor, set in {@code V1__outbox.sql}), and no connection held while the
     * publisher works. The default.
     */
    LEASE,

    /**
     * The claim locks the messages ({@code SELECT ... FOR UPDATE SKIP LOCKED}) in a transaction
     * that stays open through delivery and commits with the outcome. One write of each message
     * row instead of two, and a poller that dies releases its messages at once (its connection
     * closes). The price: a pooled connection per worker held, idle in transaction, while the
     * publisher works, which also holds back VACUUM for that long. The lease still bounds a claim:
     * the database ends a session left idle in its transaction longer than the lease
     * ({@code idle_in_transaction_session_timeout}), so a hung poller cannot hold messages forever.
     * And an attempt counts only once its outcome is recorded: a poller that dies during delivery
     * rolls its attempt back, so {@code attempts} does not show a message that keeps killing the
     * poller itself (under a lease, every such claim counts and shows).
     */
    LOCK
}
