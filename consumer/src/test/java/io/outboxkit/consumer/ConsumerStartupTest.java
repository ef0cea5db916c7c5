package io.outboxkit.consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.app.ConfigException;
import io.outboxkit.app.Env;
import io.outboxkit.app.testing.TestDatabases;
import io.outboxkit.testing.FreePorts;
import io.outboxkit.testing.PostgresExtension;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The process's start: a port another process holds stops it with a message naming the variables to
 * change; the smallest pool the README allows is enough.
 */
class ConsumerStartupTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(ConsumerMain.SCHEMA::apply, 2);

    @Test
    void a_port_in_use_fails_the_start_naming_it() throws Exception {
        try (ServerSocket taken = new ServerSocket(FreePorts.pick(), 50, InetAddress.getByName("127.0.0.1"))) {
            int port = taken.getLocalPort();
            Map<String, String> env = TestDatabases.serviceEnv(db, port);

            assertThatThrownBy(() -> ConsumerMain.start(Env.of(env)))
                    .isInstanceOf(ConfigException.class)
                    .hasMessage("PORT=" + port + " is already in use on BIND_HOST=127.0.0.1: stop the process that "
                            + "listens there, or set PORT to a free port");
        }
    }

    /** README, Configuration: {@code DB_POOL_SIZE} for order-service and consumer is "1 to 200 connections". */
    @Test
    void starts_with_the_smallest_pool_the_readme_allows() throws Exception {
        int port = FreePorts.pick();
        Map<String, String> env = TestDatabases.serviceEnv(db, port);
        env.put("DB_POOL_SIZE", "1");

        try (AutoCloseable consumer = ConsumerMain.start(Env.of(env))) {
            assertThat(new ApiClient(port).get("/health").status()).isEqualTo(200);
        }
    }
}
