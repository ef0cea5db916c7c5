package io.outboxkit.orders;

import static io.outboxkit.app.testing.TestDatabases.count;
import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.app.Env;
import io.outboxkit.app.testing.OutboxNameRefusals;
import io.outboxkit.app.testing.TestDatabases;
import io.outboxkit.testing.FreePorts;
import io.outboxkit.testing.PostgresExtension;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Started with {@code OUTBOX_SCHEMA} (and the other names the relay reads), the service writes its
 * events to the outbox those name, which the relay delivers from, and not to the default one; a
 * bad name stops its start with the relay's message.
 */
class OutboxNamesTest {

    /** A schema of the outbox's own, as a relay started with {@code OUTBOX_SCHEMA=messaging} reads it. */
    static final String SCHEMA = "messaging";

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OrderServiceMain.SCHEMA::apply, 2);

    @Test
    void a_new_order_s_event_is_written_to_the_outbox_of_OUTBOX_SCHEMA() throws Exception {
        int port = FreePorts.pick();
        Map<String, String> env = TestDatabases.serviceEnv(db, port);
        env.put("OUTBOX_SCHEMA", SCHEMA);
        String userId = UUID.randomUUID().toString();

        try (AutoCloseable service = OrderServiceMain.start(Env.of(env))) {
            HttpResponse<String> created = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + port + "/orders"))
                    .header("Content-Type", "application/json")
                    .timeout(Duration.ofSeconds(10))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"user_id\": \"" + userId + "\", \"amount\": 10}"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        }

        String orderId = TestDatabases.strings(db, "SELECT id::text FROM orders WHERE user_id = '" + userId + "'").get(0);
        assertThat(count(db, "SELECT count(*) FROM " + SCHEMA + ".outbox WHERE aggregate_id = '" + orderId
                + "' AND event_type = 'OrderCreated'")).as("the event in " + SCHEMA + ".outbox").isEqualTo(1);
        assertThat(count(db, "SELECT count(*) FROM public.outbox")).as("nothing in the default outbox").isZero();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"OUTBOX_SCHEMA", "OUTBOX_TABLE", "PROCESSED_TABLE", "OUTBOX_CHANNEL"})
    void a_name_that_is_not_a_lowercase_identifier_fails_the_start_as_the_relay_s_does(String variable) throws Exception {
        OutboxNameRefusals.assertRefusedAsByTheRelay(TestDatabases.serviceEnv(db, FreePorts.pick()), variable,
                OrderServiceMain::start);
    }
}
