package io.outboxkit.nats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.nats.client.api.ConsumerInfo;
import io.nats.client.api.RetentionPolicy;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamInfo;
import io.outboxkit.core.OutboxMessage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A relay and a consumer that run for weeks: the stream the publisher creates must not keep every
 * message it ever stored. Acknowledged messages are never needed again (a source restarts at its
 * consumer's ack floor), yet with no limit at all the stream, and the server's disk, grow with
 * every message published until JetStream refuses to store more and every delivery fails.
 */
class StreamRetentionTest {

    private static final Duration DEADLINE = Duration.ofSeconds(20);

    private final TestNats nats = TestNats.shared();

    @AfterEach
    void cleanUp() throws Exception {
        nats.close();
    }

    @Test
    void the_stream_the_publisher_creates_does_not_keep_every_acknowledged_message_forever() throws Exception {
        List<OutboxMessage> sent = new ArrayList<>();
        try (NatsPublisher publisher = nats.publisher().build()) {
            for (int round = 0; round < 5; round++) {
                List<OutboxMessage> batch = new ArrayList<>();
                for (int a = 0; a < 20; a++) {
                    batch.add(TestNats.message("order-" + a));
                }
                assertThat(publisher.publishAll(batch)).isEmpty();
                sent.addAll(batch);
            }
        }
        Received receiver = new Received();
        NatsSource source = nats.source("retention").reconnectWait(Duration.ofMillis(100)).build();
        nats.closeAtEnd(source);
        source.start(receiver);
        await().atMost(DEADLINE).until(() -> receiver.appliedCount() == sent.size());
        await().atMost(DEADLINE).untilAsserted(() -> {
            ConsumerInfo info = nats.management().getConsumerInfo(nats.stream, "retention");
            assertThat(info.getNumAckPending()).isZero();
            assertThat(info.getAckFloor().getStreamSequence()).isEqualTo(sent.size());
        });

        StreamInfo info = nats.management().getStreamInfo(nats.stream);
        StreamConfiguration config = info.getConfiguration();
        boolean bounded = config.getMaxAge().compareTo(Duration.ZERO) > 0 || config.getMaxMsgs() > 0
                || config.getMaxBytes() > 0 || config.getRetentionPolicy() != RetentionPolicy.Limits;
        assertThat(bounded)
                .as("stream %s keeps %d messages, every one of them acknowledged by its only consumer, under retention %s "
                        + "with maxAge %s, maxMsgs %d, maxBytes %d: nothing ever removes a message, so it grows by every "
                        + "message published for as long as the system runs", nats.stream,
                        info.getStreamState().getMsgCount(), config.getRetentionPolicy(), config.getMaxAge(),
                        config.getMaxMsgs(), config.getMaxBytes())
                .isTrue();
        assertThat(config.getMaxAge()).isEqualTo(NatsPublisher.DEFAULT_MAX_AGE);
    }

    @Test
    void the_stream_a_source_creates_removes_messages_after_the_max_age_it_was_given() throws Exception {
        NatsSource source = nats.source("retention").maxAge(Duration.ofHours(36)).build();
        nats.closeAtEnd(source);

        assertThat(nats.management().getStreamInfo(nats.stream).getConfiguration().getMaxAge())
                .isEqualTo(Duration.ofHours(36));
        assertThat(nats.management().getStreamInfo(nats.deadLetterStream).getConfiguration().getMaxAge())
                .as("dead letters wait for an operator").isZero();
    }

    @Test
    void an_existing_stream_keeps_its_own_limits() throws Exception {
        nats.management().addStream(StreamConfiguration.builder().name(nats.stream)
                .subjects(nats.subjectPrefix + ".>").storageType(StorageType.File).build());

        try (NatsPublisher publisher = nats.publisher().maxAge(Duration.ofDays(1)).build()) {
            assertThat(publisher.publishAll(List.of(TestNats.message("order-1")))).isEmpty();
        }

        assertThat(nats.management().getStreamInfo(nats.stream).getConfiguration().getMaxAge()).isZero();
    }
}
