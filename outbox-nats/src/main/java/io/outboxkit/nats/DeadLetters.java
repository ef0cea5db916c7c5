package io.outboxkit.nats;

import io.nats.client.JetStream;
import io.nats.client.FetchConsumeOptions;
import io.nats.client.FetchConsumer;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamStatusCheckedException;
import io.nats.client.Message;
import io.nats.client.OrderedConsumerContext;
import io.nats.client.PublishOptions;
import io.nats.client.api.DeliverPolicy;
import io.nats.client.api.OrderedConsumerConfiguration;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsMessage;
import io.outboxkit.core.spi.ShortDeadLetter;
import io.outboxkit.core.spi.Texts;
import io.outboxkit.core.spi.TransportHeaders;
import java.io.IOException;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.LongSupplier;

/**
 * Publishes a message a source gives up on to the dead-letter stream: subject
 * {@code <prefix>.<consumer>.<original subject>}, the original body and headers (but the server's
 * {@code Nats-...} ones), and {@code dead_letter_*} headers saying why; {@code Nats-Msg-Id}
 * {@code <consumer>-<stream>-<stream sequence>}, so dead-lettering one message twice (a crash
 * between this publish and the termination of the original) stores it once. A copy over the
 * server's {@code max_payload} or the stream's {@code max_msg_size} is sent short instead, in the
 * shape of {@link ShortDeadLetter}.
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
    /** JetStream's error code for a message over the stream's max_msg_size. */
    private static final int MESSAGE_TOO_LARGE = 10054;
    /** Dead letters read per pull when they are looked through. */
    private static final int SCAN_BATCH = 256;

    private final JetStream jetStream;
    private final String stream;
    private final String subjectPrefix;
    private final String consumer;
    private final PublishOptions options;
    /** The server's max_payload, which the copy must fit with its headers (0: not known). */
    private final LongSupplier maxPayload;

    DeadLetters(JetStream jetStream, LongSupplier maxPayload, String stream, String subjectPrefix, String consumer) {
        this.jetStream = jetStream;
        this.maxPayload = maxPayload;
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
        Headers own = new Headers();
        if (delivery.getHeaders() != null) {
            for (Map.Entry<String, List<String>> header : delivery.getHeaders().entrySet()) {
                if (!NatsHeaders.isServers(header.getKey())) {
                    own.put(header.getKey(), header.getValue());
                }
            }
        }
        List<ShortDeadLetter.Header<List<String>>> headers = new ArrayList<>();
        for (String name : own.keySet()) {
            headers.add(new ShortDeadLetter.Header<>(name, own.get(name), String.join(",", own.get(name)).length()));
        }
        // Too large for the server or the stream (the publisher took it just under the limit): without a shorter
        // copy the message would come again for ever and hold up its aggregate.
        ShortDeadLetter.Copy<List<String>, Exception> publish = (kept, shown, truncated, withBody) -> {
            Headers copied = new Headers();
            kept.forEach(header -> copied.put(header.name(), header.value()));
            Headers all = withOurs(copied, delivery, reason, shown, attempts);
            if (truncated != null) {
                all.put(ShortDeadLetter.TRUNCATED, truncated);
            }
            return stored(copy(delivery, all, withBody ? delivery.getData() : new byte[0]));
        };
        boolean sent;
        try {
            // The error escaped, then cut: cut first, it would be cut again, maybe inside an escape.
            sent = ShortDeadLetter.send(headers, ascii(error), ascii(error, ShortDeadLetter.MAX_ERROR_LENGTH), true, publish);
        } catch (IOException | JetStreamApiException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException("cannot happen: stored throws no other checked exception", e);
        }
        if (!sent) {
            throw new IOException("dead-letter stream " + stream + " takes not even the message's headers: over the "
                    + "server's max_payload or the stream's max_msg_size");
        }
    }

    /**
     * Publishes {@code copy}; false, nothing sent or stored, when it is over the server's max_payload
     * or the stream refuses it as over its max_msg_size.
     */
    private boolean stored(NatsMessage copy) throws IOException, JetStreamApiException {
        if (!fits(copy)) {
            return false;
        }
        try {
            jetStream.publish(copy, options);
            return true;
        } catch (JetStreamApiException e) {
            if (e.getApiErrorCode() == MESSAGE_TOO_LARGE) {
                return false;
            }
            throw e;
        }
    }

    /** Whether {@code copy} is within the server's max_payload, counted as the publisher counts a message. */
    private boolean fits(NatsMessage copy) {
        long max = maxPayload.getAsLong();
        return max <= 0 || NatsHeaders.publishedSize(copy.getData(), copy.getHeaders(), stream) <= max;
    }

    private NatsMessage copy(Message delivery, Headers headers, byte[] body) {
        return NatsMessage.builder().subject(subjectFor(delivery.getSubject())).headers(headers).data(body).build();
    }

    /** {@code headers}, a fresh copy, with this source's {@code dead_letter_*} headers and the message id added. */
    private Headers withOurs(Headers kept, Message delivery, String reason, String error, long attempts) {
        long sequence = delivery.metaData().streamSequence();
        String sourceStream = delivery.metaData().getStream();
        Headers headers = new Headers(kept);
        headers.put(REASON, reason);
        headers.put(ERROR, error);
        headers.put(ATTEMPTS, Long.toString(attempts));
        headers.put(CONSUMER, consumer);
        headers.put(STREAM, sourceStream);
        headers.put(SEQUENCE, Long.toString(sequence));
        headers.put(SUBJECT, delivery.getSubject());
        headers.put(NatsHeaders.MSG_ID, consumer + "-" + sourceStream + "-" + sequence);
        return headers;
    }

    /**
     * The sequences of {@code sourceStream}, from {@code from} on, of the messages this consumer
     * dead-lettered that the dead-letter stream stored at or after {@code since} (ever, when null):
     * read from that stream's headers only, through an ordered consumer of its own. A dead letter
     * whose sequence header is not a number is left out.
     *
     * @throws IOException           when the dead-letter stream does not answer
     * @throws JetStreamApiException when it refuses the consumer (the user may not create one on it)
     */
    TreeSet<Long> sequencesFrom(String sourceStream, long from, ZonedDateTime since)
            throws IOException, JetStreamApiException {
        OrderedConsumerConfiguration scan = new OrderedConsumerConfiguration()
                .filterSubject(subjectPrefix + "." + consumer + ".>")
                .headersOnly(true);
        scan = since == null ? scan.deliverPolicy(DeliverPolicy.All)
                : scan.deliverPolicy(DeliverPolicy.ByStartTime).startTime(since);
        OrderedConsumerContext reader = jetStream.getStreamContext(stream).createOrderedConsumer(scan);
        TreeSet<Long> sequences = new TreeSet<>();
        try {
            boolean more = true;
            while (more) {
                more = false;
                // Read to its end (nextMessage null), a fetch is finished and needs no closing.
                FetchConsumer fetch = reader.fetch(FetchConsumeOptions.builder().maxMessages(SCAN_BATCH).noWait().build());
                Message letter;
                while ((letter = fetch.nextMessage()) != null) {
                    more = letter.metaData().pendingCount() > 0;
                    Headers headers = letter.getHeaders();
                    if (headers != null && sourceStream.equals(headers.getFirst(STREAM))) {
                        long sequence = sequenceOf(headers.getFirst(SEQUENCE));
                        if (sequence >= from) {
                            sequences.add(sequence);
                        }
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while reading dead-letter stream " + stream, e);
        } catch (JetStreamStatusCheckedException e) {
            throw new IOException("cannot read dead-letter stream " + stream + ": " + e.getMessage(), e);
        }
        return sequences;
    }

    private static long sequenceOf(String text) {
        try {
            return text == null ? -1 : Long.parseLong(text);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** {@code text} as a NATS header value of at most {@value #MAX_ERROR_LENGTH} characters; see {@link #ascii(String, int)}. */
    static String ascii(String text) {
        return ascii(text, MAX_ERROR_LENGTH);
    }

    /**
     * {@code text} as a NATS header value of at most {@code max} characters: other than printable
     * ASCII escaped as {@code \\uXXXX}; when too long, the text is cut before it is escaped (so never
     * inside an escape, nor between a surrogate pair's two halves, see {@link Texts#cut}) and ends in
     * {@link Texts#CUT_MARK}.
     */
    static String ascii(String text, int max) {
        if (text.length() <= max) {
            String whole = TransportHeaders.ascii(text);
            if (whole.length() <= max) {
                return whole;
            }
        }
        int kept = 0;
        for (int escaped = 0; kept < text.length(); kept++) {
            escaped += TransportHeaders.ascii(text.substring(kept, kept + 1)).length();
            if (escaped > max - Texts.CUT_MARK.length()) {
                break;
            }
        }
        // kept < text.length() here, so abbreviate cuts and marks; the mark is printable ASCII, which escaping keeps.
        return TransportHeaders.ascii(Texts.abbreviate(text, kept));
    }

    String stream() {
        return stream;
    }
}
