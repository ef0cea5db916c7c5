package io.outboxkit.app.delivery;

import io.outboxkit.core.spi.FailureReason;
import io.outboxkit.core.spi.PublishException;

/**
 * A delivery that did not succeed; the message says why in terms an operator can act on
 * ("HTTP 500 from ...", "timed out after 5000 ms ..."). It is recorded as the message's last error,
 * and counted under its {@link #reason()}: no answer in time, or 408 or 504, is {@code timeout}; no
 * connection, or 429, 502 or 503 ("try again later"), is {@code unavailable}; any other answer
 * than success is {@code refused}.
 */
public final class DeliveryException extends PublishException {

    private static final long serialVersionUID = 1L;

    /** The consumer answered, and not with success. */
    DeliveryException(String message) {
        super(FailureReason.REFUSED, message);
    }

    /** A failure whose kind {@code cause} tells (see {@link FailureReason#of}). */
    DeliveryException(String message, Throwable cause) {
        super(FailureReason.of(cause), message, cause);
    }

    /** A failure of kind {@code reason}. */
    DeliveryException(FailureReason reason, String message) {
        super(reason, message);
    }

    /** A failure of kind {@code reason}, caused by {@code cause}. */
    DeliveryException(FailureReason reason, String message, Throwable cause) {
        super(reason, message, cause);
    }
}
