package io.outboxkit.core.spi;

import java.util.Objects;

/**
 * A failed delivery that says why, for a {@link MessagePublisher} to throw (or report in
 * {@link MessagePublisher#publishAll}'s failures): the message is retried as after any failure, and
 * the failure is counted under {@link #reason()}. Its message is recorded as the message's last
 * error, so it should say what an operator can act on.
 */
public class PublishException extends Exception {

    private static final long serialVersionUID = 1L;

    private final FailureReason reason;

    /** A failure of kind {@code reason}, described by {@code message}. */
    public PublishException(FailureReason reason, String message) {
        super(message);
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    /** A failure of kind {@code reason}, described by {@code message}, caused by {@code cause}. */
    public PublishException(FailureReason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    /** Why the delivery failed. */
    public FailureReason reason() {
        return reason;
    }
}
