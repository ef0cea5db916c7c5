package io.outboxkit.replay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import io.outboxkit.core.IdempotentHandler;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.Outcome;
import io.outboxkit.migrations.OutboxMigrations;
import io.outboxkit.rabbitmq.RabbitMqSource;
import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code duplicate} with {@code SINK=rabbitmq}, against the machine's RabbitMQ (an exchange and a
 * queue of the test's own): both copies are confirmed by the broker, and a consumer reading the
 * queue through an {@link IdempotentHandler} applies the first and skips the second.
 */
class DuplicateThroughBrokerTest {

    static final String URI = "amqp://guest:guest@127.0.0.1:5672/%2F";

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OutboxMigrations::apply, 4);

    @Test
    void both_copies_are_confirmed_and_the_consumer_applies_the_first_and_skips_the_second() throws Exception {
        String name = "replay-duplicate-test-" + UUID.randomUUID().toString().substring(0, 8);
        List<OutboxMessage> applied = new CopyOnWriteArrayList<>();
        List<Outcome> outcomes = new CopyOnWriteArrayList<>();
        IdempotentHandler handler = IdempotentHandler.create(db.jdbi(), name, (tx, message) -> applied.add(message));
        try (RabbitMqSource source = RabbitMqSource.builder(URI, name).exchange(name).build()) {
            source.start(batch -> {
                var outcome = handler.handleAll(batch);
                outcomes.addAll(outcome.outcomes().values());
                return outcome.failures();
            });
            Cli.Run run = Cli.withoutDatabase().with("SINK", "rabbitmq").with("RABBITMQ_URI", URI)
                    .with("RABBITMQ_EXCHANGE", name).run("duplicate");

            assertThat(run.status()).as(run.err()).isZero();
            assertThat(run.out()).contains("to rabbitmq at amqp://guest:***@127.0.0.1:5672/%2F (exchange " + name + ") twice",
                    "copy 1: confirmed by rabbitmq", "copy 2: confirmed by rabbitmq").doesNotContain("guest:guest");
            await("both copies received").atMost(Duration.ofSeconds(20)).until(() -> outcomes.size() == 2);
            assertThat(outcomes).containsExactly(Outcome.PROCESSED, Outcome.DUPLICATE);
            assertThat(applied).hasSize(1);
            assertThat(run.out()).contains("SKIPPING duplicate message " + applied.get(0).id());
        } finally {
            ConnectionFactory factory = new ConnectionFactory();
            factory.setUri(URI);
            try (Connection connection = factory.newConnection(); Channel channel = connection.createChannel()) {
                channel.queueDelete(name);
                channel.queueDelete(name + RabbitMqSource.DEAD_LETTER_SUFFIX);
                channel.exchangeDelete(name);
            }
        }
    }

    @Test
    void a_broker_that_refuses_the_copy_fails_with_one_line_without_the_password() {
        Cli.Run run = Cli.withoutDatabase().with("SINK", "rabbitmq").with("RABBITMQ_URI", "amqp://guest:Hunter2-s3cr3t@127.0.0.1:5672/%2F")
                .run("duplicate");

        assertThat(run.status()).isNotZero();
        assertThat(run.errLines()).singleElement().asString().startsWith("replay-cli duplicate: SINK=rabbitmq: ");
        assertThat(run.out() + run.err()).doesNotContain("Hunter2");
    }
}
