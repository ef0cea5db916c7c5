package io.outboxkit.nats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.core.InvalidOptionException;
import io.outboxkit.core.OutboxException;
import io.outboxkit.testing.PrivateNatsServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/** Options, URLs and credentials: every wrong one named, no password ever shown. */
class NatsOptionsTest {

    @Test
    void a_missing_or_malformed_server_url_is_refused_naming_the_option() {
        for (String bad : List.of("", " ", "http://localhost:4222", "nats://", "nats://host:4222/path", "nats://host?x=1",
                "nats://ho st:4222", "localhost:4222")) {
            assertThatThrownBy(() -> NatsPublisher.builder(bad).build(), bad)
                    .isInstanceOfSatisfying(InvalidOptionException.class, e -> assertThat(e.option()).isEqualTo("servers"))
                    .hasMessageStartingWith("servers");
        }
    }

    @Test
    void a_port_out_of_range_is_refused_naming_the_option_before_anything_connects() {
        for (String port : List.of("0", "65536", "99999")) {
            assertThatThrownBy(() -> NatsPublisher.builder("nats://a:4222,tls://alice:s3cret@b:" + port).build(), port)
                    .isInstanceOfSatisfying(InvalidOptionException.class, e -> assertThat(e.option()).isEqualTo("servers"))
                    .hasMessage("servers: 'tls://***@b:" + port + "' has port " + port + ", not 1 to 65535");
        }
    }

    @Test
    void no_outbox_names_is_refused_naming_the_option_before_anything_connects() {
        assertThatThrownBy(() -> NatsPublisher.builder("nats://127.0.0.1:1").outbox(null).build())
                .isInstanceOfSatisfying(InvalidOptionException.class, e -> assertThat(e.option()).isEqualTo("outbox"))
                .hasMessageStartingWith("outbox must not be null");
    }

    @Test
    void urls_are_read_with_their_credentials_taken_out() {
        NatsServers servers = NatsServers.parse("servers", "nats://alice:s3cr%40t@host-a:4223, nats://host-b");
        assertThat(servers.urls()).containsExactly("nats://host-a:4223", "nats://host-b:4222");
        assertThat(servers.user()).isEqualTo("alice");
        assertThat(servers.password()).isEqualTo("s3cr@t");
        assertThat(servers.toString()).isEqualTo("nats://alice:***@host-a:4223,nats://alice:***@host-b:4222");
        NatsServers token = NatsServers.parse("servers", "tls://t0ken@host");
        assertThat(token.token()).isEqualTo("t0ken");
        assertThat(token.toString()).isEqualTo("tls://***@host:4222");
    }

    @Test
    void a_password_never_appears_in_an_error_about_its_url() {
        for (String bad : List.of("nats://alice:s3cret@ho st", "http://alice:s3cret@host", "nats://alice:s3cret@host/x",
                "nats://alice:s3cret@a,nats://bob:s3cret@b", "nats://alice:s3/cret@host", "nats://alice:s3@cret@host:99999")) {
            assertThatThrownBy(() -> NatsPublisher.builder(bad).build(), bad)
                    .isInstanceOf(IllegalArgumentException.class).message().doesNotContain("s3cret");
        }
    }

    @Test
    void each_option_is_checked_and_named_with_what_it_may_be() {
        String url = "nats://127.0.0.1:1";
        assertThatThrownBy(() -> NatsPublisher.builder(url).stream("OUT.BOX").build())
                .hasMessage("stream must be 1 to 200 of the characters A-Z a-z 0-9 - _, not 'OUT.BOX'");
        assertThatThrownBy(() -> NatsPublisher.builder(url).subjectPrefix("outbox.>").build())
                .hasMessageStartingWith("subjectPrefix must be one or more tokens");
        assertThatThrownBy(() -> NatsPublisher.builder(url).publishTimeout(Duration.ZERO).build())
                .hasMessage("publishTimeout must be from PT0.001S to PT5M, not PT0S");
        assertThatThrownBy(() -> NatsPublisher.builder(url).duplicateWindow(null).build())
                .hasMessageStartingWith("duplicateWindow must be from");
        assertThatThrownBy(() -> NatsPublisher.builder(url).maxAge(Duration.ofSeconds(30)).build())
                .hasMessage("maxAge must be 0 (keep every message for ever) or from PT1M to PT87600H, not PT30S");
        assertThatThrownBy(() -> NatsSource.builder(url, "c").maxAge(Duration.ofDays(-1)).build())
                .hasMessage("maxAge must be 0 (keep every message for ever) or from PT1M to PT87600H, not PT-24H");
        assertThatThrownBy(() -> NatsPublisher.builder(url).duplicateWindow(Duration.ofMinutes(10)).maxAge(Duration.ofMinutes(5)).build())
                .hasMessageStartingWith("maxAge (PT5M) must be at least duplicateWindow (PT10M)");
        assertThatThrownBy(() -> NatsSource.builder(url, "loyalty service").build())
                .hasMessage("consumer must be 1 to 200 of the characters A-Z a-z 0-9 - _, not 'loyalty service'");
        assertThatThrownBy(() -> NatsSource.builder(url, "c").batchSize(0).build())
                .hasMessage("batchSize must be from 1 to 10000, not 0");
        assertThatThrownBy(() -> NatsSource.builder(url, "c").maxAttempts(0).build())
                .hasMessage("maxAttempts must be from 1 to 1000000, not 0");
        assertThatThrownBy(() -> NatsSource.builder(url, "c").batchSize(500).maxAckPending(100).build())
                .hasMessage("maxAckPending must be from 500 to 1000000, not 100");
        assertThatThrownBy(() -> NatsSource.builder(url, "c").fetchWait(Duration.ofMillis(10)).build())
                .hasMessage("fetchWait must be from PT1S to PT1M, not PT0.01S");
        assertThatThrownBy(() -> NatsSource.builder(url, "c").initialBackoff(Duration.ofSeconds(10)).maxBackoff(Duration.ofSeconds(1)).build())
                .hasMessage("maxBackoff must be from PT10S to PT24H, not PT1S");
        assertThatThrownBy(() -> NatsSource.builder(url, "c").deadLetterStream("OUTBOX").build())
                .hasMessage("deadLetterStream must differ from stream (OUTBOX)");
        assertThatThrownBy(() -> NatsSource.builder(url, "c").deadLetterSubjectPrefix("outbox.dead").build())
                .hasMessage("deadLetterSubjectPrefix (outbox.dead) and subjectPrefix (outbox) must not contain one another");
    }

    @Test
    void a_type_becomes_one_subject_token_that_reads_the_same_when_it_is_plain() {
        assertThat(Subjects.token("OrderCreated")).isEqualTo("OrderCreated");
        assertThat(Subjects.token("order_v2-x")).isEqualTo("order_v2-x");
        assertThat(Subjects.token("a.b")).isEqualTo("a%2Eb");
        assertThat(Subjects.token("*")).isEqualTo("%2A");
        assertThat(Subjects.token(">")).isEqualTo("%3E");
        assertThat(Subjects.token("a b\tc")).isEqualTo("a%20b%09c");
        assertThat(Subjects.token("50%")).isEqualTo("50%25");
        assertThat(Subjects.token("Bestellung_ä")).isEqualTo("Bestellung_%C3%A4");
    }

    @Test
    void an_unreachable_server_fails_the_build_within_the_connect_timeout_with_a_clear_error() throws Exception {
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        long started = System.nanoTime();
        int closedPort = port;
        assertThatThrownBy(() -> NatsPublisher.builder("nats://bob:hunter2@127.0.0.1:" + closedPort)
                .connectTimeout(Duration.ofSeconds(1)).build())
                .isInstanceOf(OutboxException.class)
                .hasMessageStartingWith("[outbox-nats-publisher] cannot connect to NATS at nats://bob:***@127.0.0.1:" + closedPort + ": ")
                .message().doesNotContain("hunter2");
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(5));
    }

    @Test
    void a_server_that_refuses_the_credentials_gets_a_clear_error_and_no_output_shows_the_password() throws Exception {
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        try (PrivateNatsServer server = PrivateNatsServer.launch("--user", "relay", "--pass", "right-pw-1")) {
            String wrong = server.url().replace("nats://", "nats://relay:wrong-pw-2@");
            assertThatThrownBy(() -> NatsPublisher.builder(wrong).connectTimeout(Duration.ofSeconds(2)).build())
                    .isInstanceOf(OutboxException.class)
                    .hasMessageContaining("cannot connect to NATS at nats://relay:***@127.0.0.1:" + server.port())
                    .hasMessageContaining("Authorization Violation")
                    .message().doesNotContain("wrong-pw-2");

            System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
            String right = server.url().replace("nats://", "nats://relay:right-pw-1@");
            TestNats nats = new TestNats(right);
            try (NatsPublisher publisher = nats.publisher().reconnectWait(Duration.ofMillis(50)).build()) {
                assertThat(publisher.toString()).contains("nats://relay:***@").doesNotContain("right-pw-1");
                assertThat(publisher.publishAll(List.of(TestNats.message("order-1")))).isEmpty();
                server.stop();
                Awaitility.await().until(() -> !publisher.isConnected());
                server.start();
                Awaitility.await().until(publisher::isConnected);
            }
        } finally {
            System.setErr(err);
        }
        String output = captured.toString(StandardCharsets.UTF_8);
        assertThat(output).contains("NATS connection lost (nats://relay:***@127.0.0.1:").doesNotContain("right-pw-1");
    }
}
