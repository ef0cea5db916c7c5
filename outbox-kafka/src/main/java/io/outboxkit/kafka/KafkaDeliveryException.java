package io.outboxkit.kafka;

import io.outboxkit.core.OutboxException;

/** Why Kafka did not take one message: the text an operator reads as the message's last error. */
final class KafkaDeliveryException extends OutboxException {

    private static final long serialVersionUID = 1L;

    KafkaDeliveryException(String message) {
        super(message);
    }

    KafkaDeliveryException(String message, Throwable cause) {
        super(message, cause);
    }
}
