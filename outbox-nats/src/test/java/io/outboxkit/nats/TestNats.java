package io.outboxkit.nats;

import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.api.MessageInfo;
import io.nats.client.api.StreamState;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.spi.TransportHeaders;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The machine's shared NATS (never stopped by a test; {@code OUTBOX_TEST_NATS_URL} overrides
 * nats://127.0.0.1:4222), names of a test's own, plain jnats connections that are not our classes,
 * and outbox messages to send.
 */
final class TestNats implements AutoCloseable {

    static final String SHARED_URL = System.getenv().getOrDefault("OUTBOX_TEST_NATS_URL", "nats://127.0.0.1:4222");
    private static final AtomicLong SEQUENCE = new AtomicLong(1);

    final String url;
    final String suffix = Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xFFFFFFFFFFL);
    final String stream = "T_OUTBOX_" + suffix;
    final String subjectPrefix = "t-outbox-" + suffix;
    final String deadLetterStream = "T_DEAD_" + suffix;
    final String deadLetterPrefix = "t-dead-" + suffix;
    private final List<Connection> connections = new ArrayList<>();
    private final List<AutoCloseable> closeAtEnd = new ArrayList<>();

    TestNats(String url) {
        this.url = url;
    }

    static TestNats shared() {
        return new TestNats(SHARED_URL);
    }

    /** {@code closeable}, to be closed first by {@link #close()}: a test's sources and publishers. */
    <T extends AutoCloseable> T closeAtEnd(T closeable) {
        closeAtEnd.add(closeable);
        return closeable;
    }

    /** A plain jnats connection of the test's own. */
    Connection plainConnection() {
        try {
            Connection connection = Nats.connect(new Options.Builder().server(url).maxReconnects(-1).build());
            connections.add(connection);
            return connection;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    JetStreamManagement management() throws IOException {
        return plainConnection().jetStreamManagement();
    }

    NatsPublisher.Builder publisher() {
        return NatsPublisher.builder(url).stream(stream).subjectPrefix(subjectPrefix);
    }

    NatsSource.Builder source(String consumer) {
        return NatsSource.builder(url, consumer).stream(stream).subjectPrefix(subjectPrefix)
                .deadLetterStream(deadLetterStream).deadLetterSubjectPrefix(deadLetterPrefix);
    }

    /** Messages stored in the test's stream. */
    long storedMessages() throws IOException, JetStreamApiException {
        return management().getStreamInfo(stream).getStreamState().getMsgCount();
    }

    /** The outbox messages stored in the test's stream, in stream order. */
    List<OutboxMessage> stored() throws IOException, JetStreamApiException {
        JetStreamManagement jsm = management();
        StreamState state = jsm.getStreamInfo(stream).getStreamState();
        List<OutboxMessage> stored = new ArrayList<>();
        for (long sequence = state.getFirstSequence(); sequence <= state.getLastSequence(); sequence++) {
            MessageInfo info = jsm.getMessage(stream, sequence);
            stored.add(TransportHeaders.read(NatsHeaders.read(info.getHeaders()),
                    new String(info.getData(), StandardCharsets.UTF_8)));
        }
        return stored;
    }

    static OutboxMessage message(String aggregateId) {
        return message("Order", aggregateId, "OrderCreated", "{\"n\":" + SEQUENCE.get() + "}", Map.of());
    }

    static OutboxMessage message(String aggregateType, String aggregateId, String eventType, String payload,
                                 Map<String, String> headers) {
        return new OutboxMessage(UUID.randomUUID(), SEQUENCE.getAndIncrement(), aggregateType, aggregateId, eventType,
                payload, headers, Instant.now().truncatedTo(ChronoUnit.MICROS), 1);
    }

    /** Closes what {@link #closeAtEnd} was given, deletes the test's streams (with their consumers) and closes its connections. */
    @Override
    public void close() throws Exception {
        for (AutoCloseable closeable : closeAtEnd) {
            closeable.close();
        }
        try (Connection cleaner = Nats.connect(new Options.Builder().server(url).build())) {
            JetStreamManagement jsm = cleaner.jetStreamManagement();
            for (String name : List.of(stream, deadLetterStream)) {
                try {
                    jsm.deleteStream(name);
                } catch (JetStreamApiException e) {
                    // never created
                }
            }
        } catch (IOException e) {
            // the private server is already gone, and its store with it
        }
        for (Connection connection : connections) {
            connection.close();
        }
    }
}
