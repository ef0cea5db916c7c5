package io.outboxkit.app.delivery;

/**
 * A delivery that did not succeed; the message says why in terms an operator can act on
 * ("HTTP 500 from ...", "timed out after 5000 ms ..."). It is recorded as the message's last error.
 */
public final class DeliveryException extends Exception {

    private static final long serialVersionUID = 1L;

    DeliveryException(String message) {
        super(message);
    }

    DeliveryException(String message, Throwable cause) {
        super(message, cause);
    }
}
