package io.outboxkit.replay;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.app.MessageEnvelope;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.app.testing.FakeConsumer;
import io.outboxkit.app.testing.FakeConsumer.Reply;
import io.outboxkit.migrations.OutboxMigrations;
import io.outboxkit.testing.PostgresExtension;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class DuplicateCommandTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OutboxMigrations::apply, 4);

    @Test
    void an_idempotent_consumer_skips_the_second_delivery_exit_0() throws Exception {
        try (FakeConsumer consumer = new FakeConsumer()) {
            consumer.answerInTurn(Reply.processed(), Reply.duplicate());
            Cli.Run run = Cli.withoutDatabase().run("duplicate", "--consumer-url", consumer.url());

            assertThat(run.status()).as(run.err()).isZero();
            assertThat(run.err()).isEmpty();
            assertThat(run.out()).contains("attempt 1: processed", "attempt 2: duplicate (skipped)",
                    "idempotency OK: the second delivery was skipped");
            assertThat(consumer.received()).hasSize(2);
            assertThat(consumer.received().get(1).envelope()).isEqualTo(consumer.received().get(0).envelope());
            assertThat(consumer.received()).extracting(FakeConsumer.Received::messageIdHeader)
                    .as("the id in the Message-Id header, as the relay sends it").containsOnly(consumer.received().get(0).id());
            OutboxMessage sent = parse(consumer.received().get(0));
            assertThat(sent.eventType()).isEqualTo("OrderCreated");
            assertThat(sent.aggregateType()).isEqualTo("Order");
            assertThat(sent.payload()).contains(DemoMessage.DEMO_USER_ID.toString(), sent.aggregateId());
            assertThat(run.out()).contains(sent.id().toString());
        }
    }

    @Test
    void without_a_message_id_each_run_sends_a_new_message_for_a_new_order() throws Exception {
        try (FakeConsumer consumer = new FakeConsumer()) {
            consumer.answerInTurn(Reply.processed(), Reply.duplicate(), Reply.processed(), Reply.duplicate());
            Cli cli = Cli.withoutDatabase().with("CONSUMER_URL", consumer.url());
            assertThat(cli.run("duplicate").status()).isZero();
            assertThat(cli.run("duplicate").status()).isZero();

            OutboxMessage first = parse(consumer.received().get(0));
            OutboxMessage second = parse(consumer.received().get(2));
            assertThat(second.id()).isNotEqualTo(first.id());
            assertThat(second.aggregateId()).isNotEqualTo(first.aggregateId());
        }
    }

    @Test
    void a_consumer_that_processes_the_message_twice_fails_the_check_exit_1() throws Exception {
        try (FakeConsumer consumer = new FakeConsumer()) {
            consumer.answerInTurn(Reply.processed(), Reply.processed());
            Cli.Run run = Cli.withoutDatabase().run("duplicate", "--consumer-url", consumer.url());

            assertThat(run.status()).isEqualTo(ReplayCli.EXIT_FAILED);
            assertThat(run.out()).contains("attempt 1: processed", "attempt 2: processed")
                    .doesNotContain("idempotency OK");
            assertThat(run.errLines()).containsExactly(
                    "replay-cli duplicate: idempotency FAILED: the consumer processed the same message twice");
        }
    }

    @Test
    void a_consumer_that_rejects_the_message_shows_its_error_exit_1() throws Exception {
        try (FakeConsumer consumer = new FakeConsumer()) {
            consumer.answerInTurn(new Reply(400, "{\"error\":\"payload.amount is required\"}"),
                    new Reply(400, "{\"error\":\"payload.amount is required\"}"));
            Cli.Run run = Cli.withoutDatabase().run("duplicate", "--consumer-url", consumer.url());

            assertThat(run.status()).isEqualTo(ReplayCli.EXIT_FAILED);
            assertThat(run.out()).contains("attempt 1: rejected (HTTP 400: payload.amount is required)");
            assertThat(run.errLines()).singleElement().asString()
                    .contains("idempotency not shown: the first delivery was not processed");
        }
    }

    @Test
    void an_unreachable_consumer_is_one_clear_line_exit_1() {
        String nowhere = "http://127.0.0.1:1/messages";

        Cli.Run run = Cli.withoutDatabase().run("duplicate", "--consumer-url", nowhere);

        assertThat(run.status()).isEqualTo(ReplayCli.EXIT_FAILED);
        assertThat(run.errLines()).singleElement().asString()
                .startsWith("replay-cli duplicate: cannot connect to " + nowhere + ": ")
                .doesNotContain("Exception");
    }

    @Test
    void with_a_message_id_it_sends_that_message_from_the_outbox() throws Exception {
        db.truncateAll();
        UUID id = Outbox.write(db);
        Outbox.markPublished(db, id);
        try (FakeConsumer consumer = new FakeConsumer()) {
            consumer.answerInTurn(Reply.duplicate(), Reply.duplicate());
            Cli.Run run = Cli.against(db).run("duplicate", "--message-id", id.toString(),
                    "--consumer-url", consumer.url());

            assertThat(run.status()).as(run.err()).isZero();
            assertThat(run.out()).contains("attempt 1: duplicate (skipped)", "attempt 2: duplicate (skipped)",
                    "idempotency OK");
            OutboxMessage sent = parse(consumer.received().get(0));
            assertThat(sent.id()).isEqualTo(id);
            assertThat(sent.payload()).contains("\"amount\":42.5");
            assertThat(sent.sequence()).isPositive();
        }
    }

    @Test
    void an_unknown_message_id_is_an_error_and_nothing_is_sent() throws Exception {
        db.truncateAll();
        UUID unknown = UUID.randomUUID();
        try (FakeConsumer consumer = new FakeConsumer()) {
            Cli.Run run = Cli.against(db).run("duplicate", "--message-id", unknown.toString(),
                    "--consumer-url", consumer.url());

            assertThat(run.status()).isEqualTo(ReplayCli.EXIT_FAILED);
            assertThat(run.errLines()).containsExactly(
                    "replay-cli duplicate: no message with id " + unknown + " in the outbox");
            assertThat(consumer.received()).isEmpty();
        }
    }

    @Test
    void a_message_the_relay_has_not_delivered_is_refused_so_that_it_cannot_overtake_an_earlier_one_of_its_aggregate()
            throws Exception {
        db.truncateAll();
        UUID pending = Outbox.write(db);
        try (FakeConsumer consumer = new FakeConsumer()) {
            Cli.Run run = Cli.against(db).run("duplicate", "--message-id", pending.toString(),
                    "--consumer-url", consumer.url());

            assertThat(run.status()).isEqualTo(ReplayCli.EXIT_FAILED);
            assertThat(run.errLines()).containsExactly("replay-cli duplicate: message " + pending + " is PENDING: "
                    + "duplicate sends only a message the relay has delivered (PUBLISHED), so that it cannot overtake "
                    + "an earlier one of its aggregate");
            assertThat(consumer.received()).isEmpty();
        }
    }

    private static OutboxMessage parse(FakeConsumer.Received received) {
        return MessageEnvelope.fromJson(received.envelope());
    }
}
