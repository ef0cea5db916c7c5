package io.outboxkit.core;

/**
 * Thrown when a message would be written outside a transaction: the write would commit on its
 * own, apart from the business change it announces, which is the dual write the outbox prevents.
 */
public final class NotInTransactionException extends OutboxException {

    private static final long serialVersionUID = 1L;

    /**
     * An exception whose message says where the caller should have written instead; public so that
     * an integration (the Spring Boot starter, say) refuses with its own words.
     */
    public NotInTransactionException(String message) {
        super(message);
    }
}
