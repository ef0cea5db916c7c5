package io.outboxkit.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ServerSocket;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Ports for servers that tests start: outside the range outgoing connections take theirs from, free, never twice. */
class FreePortsTest {

    @Test
    void each_port_is_below_the_ephemeral_range_bindable_and_handed_out_once() throws IOException {
        int ephemeralStart = FreePorts.ephemeralStart();
        Set<Integer> ports = new HashSet<>();
        for (int i = 0; i < 200; i++) {
            int port = FreePorts.pick();

            assertThat(port).isBetween(FreePorts.LOWEST, ephemeralStart - 1);
            assertThat(ports.add(port)).as("port %d handed out twice", port).isTrue();
            try (ServerSocket server = new ServerSocket(port)) {
                assertThat(server.getLocalPort()).isEqualTo(port);
            }
        }
    }
}
