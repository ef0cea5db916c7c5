package io.outboxkit.nats;

import io.nats.client.JetStream;
import io.nats.client.JetStreamApiException;
import io.nats.client.Message;
import io.nats.client.PublishOptions;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsMessage;
import io.outboxkit.core.spi.TransportHeaders;
import java.io.IOException;
import java.util.List;
import java.util.Map;

/**
 * Publishes a message a source gives up on to the dead-letter stream: subject
 * {@code <prefix>.<consumer>.<original subject>}, the original body and headers (but the server's
 * {@code Nats-...} ones), and {@code dead_letter_*} headers saying why; {@code Nats-Msg-Id}
 * {@code <consumer>-<stream>-<stream sequence>}, so dead-lettering one message twice (a crash
 * between this publish and the termination of the original) stores it once.
 */
final class DeadLetters {

    /** Why: {@value #UNREADABLE} (not an outbox message) or {@value #FAILED} (the receiver kept failing it). */
    static final String REASON = "dead_letter_reason";
    /** The last error, ASCII, at most {@value #MAX_ERROR_LENGTH} characters. */
    static final String ERROR = "dead_letter_error";
    /** The receiver's failures of the message ({@code failed}), or its deliveries to this consumer ({@code unreadable}). */
    static final String ATTEMPTS = "dead_letter_attempts";
    /** The consumer that gave up. */
    static final String CONSUMER = "dead_letter_consumer";
    /** The stream, sequence and subject the message had. */
    static final String STREAM = "dead_letter_stream";
    static final String SEQUENCE = "dead_letter_sequence";
    static final String SUBJECT = "dead_letter_subject";

    static final String UNREADABLE = "unreadable";
    static final String FAILED = "failed";
    static final int MAX_ERROR_LENGTH = 2000;

    private final JetStream jetStream;
    private final String stream;
    private final String subjectPrefix;
    private final String consumer;
    private final PublishOptions options;

    DeadLetters(JetStream jetStream, String stream, String subjectPrefix, String consumer) {
        this.jetStream = jetStream;
        this.stream = stream;
        this.subjectPrefix = subjectPrefix;
        this.consumer = consumer;
        this.options = PublishOptions.builder().expectedStream(stream).build();
    }

    /** The subject a message of {@code subject} is dead-lettered on. */
    String subjectFor(String subject) {
        return subjectPrefix + "." + consumer + "." + subject;
    }

    /**
     * Stores {@code delivery} in the dead-letter stream; returns once the stream acknowledged it.
     *
     * @throws IOException           when it was not acknowledged
     * @throws JetStreamApiException when the stream refused it
     */
    void publish(Message delivery, String reason, String error, long attempts) throws IOException, JetStreamApiException {
        long sequence = delivery.metaData().streamSequence();
        String sourceStream = delivery.metaData().getStream();
        Headers headers = new Headers();
        if (delivery.getHeaders() != null) {
            for (Map.Entry<String, List<String>> header : delivery.getHeaders().entrySet()) {
                if (!NatsHeaders.isServers(header.getKey())) {
                    headers.put(header.getKey(), header.getValue());
                }
            }
        }
        headers.put(REASON, reason);
        headers.put(ERROR, ascii(error));
        headers.put(ATTEMPTS, Long.toString(attempts));
        headers.put(CONSUMER, consumer);
        headers.put(STREAM, sourceStream);
        headers.put(SEQUENCE, Long.toString(sequence));
        headers.put(SUBJECT, delivery.getSubject());
        headers.put(NatsHeaders.MSG_ID, consumer + "-" + sourceStream + "-" + sequence);
        jetStream.publish(NatsMessage.builder()
                .subject(subjectFor(delivery.getSubject()))
                .headers(headers)
                .data(delivery.getData())
                .build(), options);
    }

    /** {@code text} as a NATS header value: other than printable ASCII escaped as {@code \\uXXXX}, shortened. */
    static String ascii(String text) {
        String out = TransportHeaders.ascii(text.length() > MAX_ERROR_LENGTH ? text.substring(0, MAX_ERROR_LENGTH) : text);
        return out.length() <= MAX_ERROR_LENGTH ? out : out.substring(0, MAX_ERROR_LENGTH - 3) + "...";
    }

    String stream() {
        return stream;
    }
}
