package io.outboxkit.core;

/**
 * Thrown when a message would be written outside a transaction: the write would commit on its
 * own, apart from the business change it announces, which is the dual write the outbox prevents.
 */
public final class NotInTransactionException extends OutboxException {

    private static final long serialVersionUID = 1L;

    NotInTransactionException(String message) {
        super(message);
    }
}
