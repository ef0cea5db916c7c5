package io.outboxkit.nats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.spi.FailureReason;
import io.outboxkit.testing.PrivateNatsServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A private nats-server (its own port and store) stopped, killed and started again under the
 * publisher and the source.
 */
class NatsFaultTest {

    private PrivateNatsServer server;
    private TestNats nats;

    @BeforeEach
    void startServer() {
        server = PrivateNatsServer.launch();
        nats = new TestNats(server.url());
    }

    @AfterEach
    void stopServer() throws Exception {
        if (server != null) {
            nats.close();
            server.close();
        }
    }

    private NatsPublisher publisher() {
        NatsPublisher publisher = nats.publisher().publishTimeout(Duration.ofSeconds(2)).reconnectWait(Duration.ofMillis(100)).build();
        nats.closeAtEnd(publisher);
        return publisher;
    }

    private static List<OutboxMessage> messages(int count, String prefix) {
        List<OutboxMessage> messages = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            messages.add(TestNats.message(prefix + (i % 10)));
        }
        return messages;
    }

    @Test
    void a_publisher_fails_each_message_at_once_while_its_server_is_down_and_delivers_again_once_it_is_back() throws Exception {
        NatsPublisher publisher = publisher();
        assertThat(publisher.publishAll(messages(10, "order-"))).isEmpty();

        server.kill();
        await().atMost(Duration.ofSeconds(5)).until(() -> !publisher.isConnected());
        List<OutboxMessage> whileDown = messages(10, "order-");
        long started = System.nanoTime();
        Map<UUID, Exception> failures = publisher.publishAll(whileDown);
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(2));
        assertThat(failures).hasSize(10);
        assertThat(failures.values()).allSatisfy(e -> assertThat(e).hasMessageStartingWith(
                "not published: the connection to NATS at " + server.url()).hasMessageContaining("reconnects by itself"));

        server.start();
        await().atMost(Duration.ofSeconds(10)).until(publisher::isConnected);
        assertThat(publisher.publishAll(whileDown)).isEmpty();
        assertThat(nats.storedMessages()).isEqualTo(20);
    }

    @Test
    void a_batch_whose_acknowledgements_do_not_come_fails_within_the_publish_timeout() throws Exception {
        NatsPublisher publisher = publisher();
        assertThat(publisher.publishAll(messages(1, "order-"))).isEmpty();
        long pid = server.pid();
        freeze(pid);
        try {
            long started = System.nanoTime();
            Map<UUID, Exception> failures = publisher.publishAll(messages(5, "order-"));
            Duration took = Duration.ofNanos(System.nanoTime() - started);
            assertThat(failures).hasSize(5);
            assertThat(failures.values()).allSatisfy(e -> assertThat(e)
                    .hasMessageStartingWith("no acknowledgement from NATS stream " + nats.stream + " within PT2S")
                    .hasMessageContaining("the stream drops a copy within its duplicate window (PT2M)"));
            assertThat(took).isBetween(Duration.ofMillis(1900), Duration.ofSeconds(4));
        } finally {
            new ProcessBuilder("kill", "-CONT", Long.toString(pid)).start().waitFor();
        }
    }

    @Test
    void a_message_not_published_because_the_server_is_down_counts_as_unavailable() throws Exception {
        NatsPublisher publisher = publisher();
        assertThat(publisher.publishAll(messages(1, "order-"))).isEmpty();
        server.kill();
        await().atMost(Duration.ofSeconds(5)).until(() -> !publisher.isConnected());

        Map<UUID, Exception> failures = publisher.publishAll(messages(3, "order-"));

        assertThat(failures).hasSize(3);
        assertThat(failures.values()).allSatisfy(e -> assertThat(FailureReason.of(e))
                .as("reason of \"%s\"", e.getMessage()).isEqualTo(FailureReason.UNAVAILABLE));
    }

    @Test
    void a_message_without_an_acknowledgement_within_the_publish_timeout_counts_as_timeout() throws Exception {
        NatsPublisher publisher = publisher();
        assertThat(publisher.publishAll(messages(1, "order-"))).isEmpty();
        long pid = server.pid();
        freeze(pid);
        try {
            Map<UUID, Exception> failures = publisher.publishAll(messages(3, "order-"));

            assertThat(failures).hasSize(3);
            assertThat(failures.values()).allSatisfy(e -> assertThat(FailureReason.of(e))
                    .as("reason of \"%s\"", e.getMessage()).isEqualTo(FailureReason.TIMEOUT));
        } finally {
            new ProcessBuilder("kill", "-CONT", Long.toString(pid)).start().waitFor();
        }
    }

    @Test
    void messages_published_again_after_a_restart_are_dropped_by_the_duplicate_window() throws Exception {
        List<OutboxMessage> batch = messages(20, "order-");
        assertThat(publisher().publishAll(batch)).isEmpty();

        // The relay crashed after the stream's acknowledgement and before the outbox recorded it:
        // after a restart of the server too, a new relay publishes the same messages again.
        server.stop();
        server.start();
        NatsPublisher again = publisher();
        await().atMost(Duration.ofSeconds(10)).until(again::isConnected);
        assertThat(again.publishAll(batch)).isEmpty();
        assertThat(nats.storedMessages()).isEqualTo(20);
    }

    @Test
    void a_source_resumes_without_losing_a_message_when_its_server_is_killed_and_restarted_mid_stream() throws Exception {
        Received receiver = new Received().failing(m -> m.sequence() % 7 == 0 && m.attempts() == 1);
        NatsSource source = nats.source("c1").initialBackoff(Duration.ofMillis(20)).maxBackoff(Duration.ofMillis(100))
                .reconnectWait(Duration.ofMillis(100)).batchSize(20).build();
        nats.closeAtEnd(source);
        source.start(receiver);
        NatsPublisher publisher = publisher();
        List<OutboxMessage> sent = new ArrayList<>();
        for (int round = 0; round < 3; round++) {
            List<OutboxMessage> batch = messages(100, "order-");
            publishUntilStored(publisher, batch);
            sent.addAll(batch);
            await().atMost(Duration.ofSeconds(10)).until(() -> receiver.appliedCount() >= sent.size() - 60);
            if (round == 0) {
                server.kill();
                await().atMost(Duration.ofSeconds(5)).until(() -> !source.isConnected());
                assertThat(source.isAlive()).as("trying again is alive: a restart would not help").isTrue();
                server.start();
            } else if (round == 1) {
                server.stop();
                server.start();
            }
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> receiver.appliedCount() == sent.size());
        await().atMost(Duration.ofSeconds(10)).until(source::isConnected);
        Map<String, List<Long>> storedOrder = nats.stored().stream().collect(Collectors.groupingBy(OutboxMessage::aggregateId,
                Collectors.mapping(OutboxMessage::sequence, Collectors.toList())));
        assertThat(storedOrder.values()).as("each aggregate's messages in the stream, in publish order").allSatisfy(
                sequences -> assertThat(sequences).isSorted());
        assertThat(receiver.violations()).isEmpty();
    }

    /**
     * Sends SIGSTOP and waits until every thread of the process is stopped: kill returns when the
     * signal is sent, and a thread running on another core may go on a moment longer (long enough,
     * on a loaded machine, to acknowledge a publish).
     */
    private static void freeze(long pid) throws Exception {
        new ProcessBuilder("kill", "-STOP", Long.toString(pid)).start().waitFor();
        Path tasks = Path.of("/proc", Long.toString(pid), "task");
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(5)).until(() -> {
            try (Stream<Path> threads = Files.list(tasks)) {
                return threads.allMatch(NatsFaultTest::stopped);
            }
        });
    }

    private static boolean stopped(Path thread) {
        try {
            String stat = Files.readString(thread.resolve("stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2) == 'T';
        } catch (IOException e) {
            return true; // the thread has ended
        }
    }

    /**
     * Publishes as the relay does, at most one message per aggregate per batch (the earliest not yet
     * stored) until the stream acknowledged every message: a message that fails while the server is
     * coming back holds back the later ones of its aggregate, so the stream stores each aggregate's
     * messages in publish order. Publishing the whole list again would store the ones that failed
     * after later ones of their aggregates, and the receiver would rightly get them in that order.
     */
    private static void publishUntilStored(NatsPublisher publisher, List<OutboxMessage> batch) {
        List<OutboxMessage> left = new ArrayList<>(batch);
        await().atMost(Duration.ofSeconds(20)).until(() -> {
            while (!left.isEmpty()) {
                Set<String> aggregates = new HashSet<>();
                List<OutboxMessage> firsts = left.stream().filter(m -> aggregates.add(m.aggregateId())).toList();
                Map<UUID, Exception> failures = publisher.publishAll(firsts);
                firsts.stream().filter(m -> !failures.containsKey(m.id())).forEach(left::remove);
                if (!failures.isEmpty()) {
                    return false;
                }
            }
            return true;
        });
    }
}
