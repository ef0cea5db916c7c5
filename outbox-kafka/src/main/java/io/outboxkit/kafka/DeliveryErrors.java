package io.outboxkit.kafka;

import io.outboxkit.core.spi.FailureReason;
import java.time.Duration;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.TimeoutException;

/** Turns what the producer reports for one record into a line an operator can act on. */
final class DeliveryErrors {

    private DeliveryErrors() {
    }

    /** A record the producer took but the broker did not confirm, or refused. */
    static KafkaDeliveryException describe(String topic, Throwable error, Duration deliveryTimeout, String bootstrapServers) {
        String kafka = error.getMessage() == null ? error.getClass().getSimpleName() : error.getMessage();
        String text;
        if (error instanceof TimeoutException) {
            text = "not confirmed by the broker within the delivery timeout of " + deliveryTimeout.toMillis()
                    + " ms: is the broker at " + bootstrapServers + " down or unreachable, or overloaded? (" + kafka + ")";
        } else if (error instanceof RecordTooLargeException) {
            text = "the record is too large (" + kafka + "); raise max.request.size and the topic's max.message.bytes,"
                    + " or make the payload smaller";
        } else if (error instanceof AuthorizationException) {
            text = "not authorized to write to the topic (" + kafka + "); grant this client's principal WRITE on it";
        } else if (error instanceof AuthenticationException) {
            text = "the broker refused this client's credentials (" + kafka + ")";
        } else if (error instanceof InvalidTopicException) {
            text = "the broker refused the topic name (" + kafka + ")";
        } else {
            text = "the broker did not accept the record: " + error.getClass().getSimpleName() + ": " + kafka;
        }
        // The reason the exception's own type gives (a TimeoutException is a timeout), as before it was explicit.
        return new KafkaDeliveryException(FailureReason.of(error), "Kafka topic " + topic + ": " + text, error);
    }

    /** A record not sent because the producer never learnt where the topic lives. */
    static KafkaDeliveryException noMetadata(String topic, Duration maxBlock, BrokerProbe.NoMetadata why) {
        return new KafkaDeliveryException(why.reason(), "Kafka topic " + topic + ": not sent, the topic was not in the"
                + " producer's metadata within " + maxBlock.toMillis() + " ms (maxBlock): " + why.why());
    }
}
