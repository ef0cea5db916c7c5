package io.outboxkit.kafka;

import io.outboxkit.core.spi.FailureReason;
import io.outboxkit.core.spi.PublishException;

/**
 * Why Kafka did not take one message: the text an operator reads as the message's last error, and
 * the reason the failure is counted under.
 */
final class KafkaDeliveryException extends PublishException {

    private static final long serialVersionUID = 1L;

    KafkaDeliveryException(FailureReason reason, String message) {
        super(reason, message);
    }

    KafkaDeliveryException(FailureReason reason, String message, Throwable cause) {
        super(reason, message, cause);
    }
}
