package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.outboxkit.app.ConfigException;
import io.outboxkit.app.Env;
import io.outboxkit.app.testing.FakeConsumer;
import io.outboxkit.app.testing.TestDatabases;
import io.outboxkit.migrations.OutboxMigrations;
import io.outboxkit.testing.FreePorts;
import io.outboxkit.testing.PostgresExtension;
import io.outboxkit.testing.RawHttp;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The relay's admin port listens on 127.0.0.1 unless ADMIN_HOST says otherwise: started by its
 * main entry point's logic with no ADMIN_HOST, it answers on loopback and refuses connections on
 * every other address of this machine; with ADMIN_HOST=0.0.0.0 (the control) it answers there too.
 * A port in use stops the start with a message naming it.
 */
class AdminBindTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OutboxMigrations::apply, 8);

    FakeConsumer consumer;

    @BeforeEach
    void startConsumer() {
        consumer = new FakeConsumer();
    }

    @AfterEach
    void stopConsumer() {
        consumer.close();
    }

    @Test
    void the_default_admin_host_is_a_loopback_address() throws Exception {
        RelayConfig config = RelayConfig.from(Env.of(Map.of()));

        assertThat(config.service().host()).isEqualTo(RelayConfig.DEFAULT_ADMIN_HOST).isEqualTo("127.0.0.1");
        assertThat(InetAddress.getByName(config.service().host()).isLoopbackAddress()).isTrue();
    }

    @Test
    void without_admin_host_the_admin_port_answers_on_loopback_only() throws Exception {
        List<InetAddress> others = nonLoopbackAddresses();
        int port = FreePorts.pick();

        try (AutoCloseable relay = RelayMain.start(Env.of(env(port, null)))) {
            assertThat(new RawHttp("127.0.0.1", port).request("GET", "/health", null).status()).isEqualTo(200);
            assumeFalse(others.isEmpty(), "this machine has no address but loopback to try");
            for (InetAddress address : others) {
                assertThatThrownBy(() -> connect(address, port)).as("the admin port on %s", address)
                        .isInstanceOf(ConnectException.class);
            }
        }
    }

    @Test
    void with_admin_host_0_0_0_0_it_answers_on_every_address() throws Exception {
        List<InetAddress> others = nonLoopbackAddresses();
        assumeFalse(others.isEmpty(), "this machine has no address but loopback to try");
        int port = FreePorts.pick();

        try (AutoCloseable relay = RelayMain.start(Env.of(env(port, "0.0.0.0")))) {
            for (InetAddress address : others) {
                if (address.getAddress().length == 4) {
                    connect(address, port); // succeeds: the check above would see a wildcard bind
                }
            }
        }
    }

    @Test
    void an_admin_port_in_use_fails_the_start_naming_it() throws Exception {
        try (ServerSocket taken = new ServerSocket(FreePorts.pick(), 50, InetAddress.getByName("127.0.0.1"))) {
            int port = taken.getLocalPort();

            assertThatThrownBy(() -> RelayMain.start(Env.of(env(port, null))))
                    .isInstanceOf(ConfigException.class)
                    .hasMessage("PORT=" + port + " is already in use on ADMIN_HOST=127.0.0.1: stop the process that "
                            + "listens there, or set PORT to a free port");
        }
    }

    private Map<String, String> env(int port, String adminHost) {
        Map<String, String> env = TestDatabases.env(db);
        env.put("CONSUMER_URL", consumer.url());
        env.put("PORT", Integer.toString(port));
        env.put("RELAY_NAME", "admin-bind-test");
        if (adminHost != null) {
            env.put("ADMIN_HOST", adminHost);
            env.put("ADMIN_TOKEN", "admin-bind-test-token"); // a non-loopback admin host needs one
        }
        return env;
    }

    private static void connect(InetAddress address, int port) throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(address, port), 2_000);
        }
    }

    private static List<InetAddress> nonLoopbackAddresses() throws SocketException {
        return Collections.list(NetworkInterface.getNetworkInterfaces()).stream()
                .filter(AdminBindTest::isUp)
                .flatMap(NetworkInterface::inetAddresses)
                .filter(a -> !a.isLoopbackAddress() && !a.isLinkLocalAddress() && !a.isAnyLocalAddress())
                .toList();
    }

    private static boolean isUp(NetworkInterface network) {
        try {
            return network.isUp() && !network.isLoopback();
        } catch (SocketException e) {
            return false;
        }
    }
}
