package io.outboxkit.core.workaround;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.outboxkit.testing.DatabaseSetup;
import io.outboxkit.testing.PostgresExtension;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * {@link PgjdbcPromptNotificationSocketFactory}'s sockets answer the driver's 1 ms check for a pending
 * message without waiting when nothing has arrived, and are plain sockets otherwise: nothing is
 * lost or reordered, other timeouts wait. How much sooner a poller wakes is measured in the
 * benchmarks, not here.
 */
class PgjdbcPromptNotificationSocketFactoryTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(DatabaseSetup.EMPTY, 2);

    private static final String CHANNEL = "prompt_socket_test";

    @Test
    void a_read_under_the_drivers_1_ms_check_answers_without_waiting_when_nothing_has_arrived() throws Exception {
        try (ServerSocket server = localServer(); Socket socket = connect(server); Socket peer = server.accept()) {
            socket.setSoTimeout(PgjdbcPromptNotificationSocketFactory.PEEK_TIMEOUT_MILLIS);

            assertThatThrownBy(() -> socket.getInputStream().read(new byte[16], 0, 16))
                    .isInstanceOf(SocketTimeoutException.class).hasMessageContaining("without waiting");
        }
    }

    @Test
    void bytes_that_arrive_after_such_an_answer_are_read_intact_and_in_order() throws Exception {
        try (ServerSocket server = localServer(); Socket socket = connect(server); Socket peer = server.accept()) {
            socket.setSoTimeout(PgjdbcPromptNotificationSocketFactory.PEEK_TIMEOUT_MILLIS);
            InputStream input = socket.getInputStream();
            assertThatThrownBy(() -> input.read()).isInstanceOf(SocketTimeoutException.class);

            OutputStream output = peer.getOutputStream();
            output.write("notification".getBytes(StandardCharsets.US_ASCII));
            output.flush();
            await().atMost(Duration.ofSeconds(5)).until(() -> input.available() >= "notification".length());

            byte[] read = input.readNBytes("notification".length());
            assertThat(new String(read, StandardCharsets.US_ASCII)).isEqualTo("notification");
        }
    }

    @Test
    void any_other_timeout_waits_as_on_a_plain_socket() throws Exception {
        try (ServerSocket server = localServer(); Socket socket = connect(server); Socket peer = server.accept()) {
            socket.setSoTimeout(50);

            assertThatThrownBy(() -> socket.getInputStream().read())
                    .isInstanceOf(SocketTimeoutException.class).message().doesNotContain("without waiting");
        }
    }

    @Test
    void a_listening_connection_on_these_sockets_receives_every_notification_in_order() throws Exception {
        int count = 2_000;
        try (Connection listener = connectToDatabase(true); Connection notifier = connectToDatabase(false);
             Statement listen = listener.createStatement(); Statement notify = notifier.createStatement()) {
            listen.execute("LISTEN " + CHANNEL);
            notify.execute("SET synchronous_commit = off"); // a transaction per NOTIFY, well under a millisecond apart
            for (int i = 1; i <= count; i++) {
                notify.execute("NOTIFY " + CHANNEL + ", '" + i + "'");
            }

            List<String> received = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (received.size() < count && System.nanoTime() < deadline) {
                for (PGNotification notification : listener.unwrap(PGConnection.class).getNotifications(1_000)) {
                    received.add(notification.getParameter());
                }
            }

            assertThat(received).containsExactlyElementsOf(
                    IntStream.rangeClosed(1, count).mapToObj(Integer::toString).collect(Collectors.toList()));
        }
    }

    private static ServerSocket localServer() throws Exception {
        return new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
    }

    private static Socket connect(ServerSocket server) throws Exception {
        return new PgjdbcPromptNotificationSocketFactory().createSocket(InetAddress.getLoopbackAddress(), server.getLocalPort());
    }

    private static Connection connectToDatabase(boolean promptSockets) throws SQLException {
        Properties properties = db.login();
        if (promptSockets) {
            properties.setProperty("socketFactory", PgjdbcPromptNotificationSocketFactory.class.getName());
        }
        return DriverManager.getConnection(db.jdbcUrl(), properties);
    }
}
