package io.outboxkit.replay;

import io.outboxkit.app.ConfigException;
import io.outboxkit.app.Database;
import io.outboxkit.app.Env;
import io.outboxkit.app.broker.Broker;
import io.outboxkit.app.broker.BrokerPublisher;
import io.outboxkit.app.broker.BrokerSettings;
import io.outboxkit.app.delivery.Delivery;
import io.outboxkit.app.delivery.DeliveryException;
import io.outboxkit.app.delivery.HttpPublisher;
import io.outboxkit.core.MessageStatus;
import io.outboxkit.core.OutboxAdmin;
import io.outboxkit.core.OutboxEntry;
import io.outboxkit.core.OutboxMessage;
import java.io.PrintWriter;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code duplicate}: delivers one message to the consumer twice and checks that the second
 * delivery is skipped. Exit 0 when it is; 1 otherwise. Opens the database only for
 * {@code --message-id}, which must name a message the relay has delivered (PUBLISHED).
 *
 * <p>With {@code SINK=kafka|rabbitmq|nats} (the relay's settings, see {@link BrokerSettings}) and no
 * {@code --consumer-url}, it publishes the message twice through that broker instead, as the relay
 * would after a crash between the broker's confirmation and the outbox's record: exit 0 when the
 * broker confirmed both copies. The consumer's answer does not come back through a broker, so its
 * log shows the outcome: PROCESSING once, then SKIPPING the copy (NATS drops the copy itself, by
 * its {@code Nats-Msg-Id}, within the stream's duplicate window).
 */
@Command(name = "duplicate", mixinStandardHelpOptions = true,
        description = {"Deliver one message to the consumer twice; succeed when the second is skipped as a duplicate.",
                "With SINK=kafka|rabbitmq|nats (and the broker's variables, as the relay has them) and no --consumer-url: "
                        + "publish it twice through that broker; succeed when the broker confirmed both copies."})
final class DuplicateCommand implements Callable<Integer> {

    /** The limit on connecting to the consumer and on waiting for each answer. */
    static final Duration TIMEOUT = Duration.ofSeconds(10);

    private final Env env;

    @Spec
    CommandSpec spec;

    @Mixin
    DatabaseOptions database;

    @Option(names = "--message-id", paramLabel = "ID", converter = UuidConverter.class,
            description = "send this message from the outbox, once the relay has delivered it (default: a made-up "
                    + "OrderCreated for a new order)")
    UUID messageId;

    @Option(names = "--consumer-url", paramLabel = "URL",
            description = "the consumer's endpoint (default: $CONSUMER_URL, else " + ReplayCli.DEFAULT_CONSUMER_URL + ")")
    String consumerUrl;

    DuplicateCommand(Env env) {
        this.env = env;
    }

    @Override
    public Integer call() {
        if (consumerUrl == null) {
            BrokerSettings sink = BrokerSettings.sink(env);
            if (sink.broker() != Broker.HTTP) {
                return throughBroker(sink);
            }
        }
        URI endpoint = endpoint();
        OutboxMessage message = messageId == null ? DemoMessage.create() : fromOutbox(messageId);
        PrintWriter out = spec.commandLine().getOut();
        out.println("delivering message " + message.id() + " (" + ErrorReporter.printable(message.eventType() + " of "
                + message.aggregateType() + " " + message.aggregateId()) + ") to " + endpoint + " twice");
        out.flush();
        try (HttpPublisher consumer = HttpPublisher.builder(endpoint).delivery(Delivery.SINGLE).timeout(TIMEOUT).build()) {
            Attempt first = deliver(consumer, message);
            out.println("attempt 1: " + first.describe());
            out.flush();
            Attempt second = deliver(consumer, message);
            out.println("attempt 2: " + second.describe());
            out.flush();
            if (second.kind() == Attempt.Kind.DUPLICATE) {
                out.println("idempotency OK: the second delivery was skipped");
                out.flush();
                return ReplayCli.EXIT_OK;
            }
            throw new CliFailure(verdict(first, second));
        }
    }

    /** Publishes the message twice through the broker {@code sink} names, each copy waiting for its confirmation. */
    private int throughBroker(BrokerSettings sink) {
        OutboxMessage message = messageId == null ? DemoMessage.create() : fromOutbox(messageId);
        PrintWriter out = spec.commandLine().getOut();
        out.println("publishing message " + message.id() + " (" + ErrorReporter.printable(message.eventType() + " of "
                + message.aggregateType() + " " + message.aggregateId()) + ") to " + sink.describe() + " twice");
        out.flush();
        try (BrokerPublisher publisher = sink.openPublisher(database.names())) {
            for (int copy = 1; copy <= 2; copy++) {
                Exception failure = publisher.publishAll(List.of(message)).get(message.id());
                if (failure != null) {
                    throw new CliFailure("copy " + copy + " was not confirmed by " + sink.broker().id() + ": "
                            + BrokerSettings.redact(failure.getMessage()));
                }
                out.println("copy " + copy + ": confirmed by " + sink.broker().id());
                out.flush();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliFailure("interrupted while publishing to " + sink.broker().id());
        }
        out.println(sink.broker() == Broker.NATS
                ? "both copies published: the stream keeps the first and drops the second by its Nats-Msg-Id; the consumer "
                        + "logs PROCESSING " + message.id()
                : "both copies published: the consumer logs PROCESSING " + message.id() + " for the first and SKIPPING "
                        + "duplicate message " + message.id() + " for the second");
        out.flush();
        return ReplayCli.EXIT_OK;
    }

    /** One delivery, as the relay's single delivery sends it. */
    private static Attempt deliver(HttpPublisher consumer, OutboxMessage message) {
        try {
            return Attempt.of(consumer.deliverOnce(message));
        } catch (DeliveryException e) {
            throw new CliFailure(e.getMessage());
        }
    }

    private static String verdict(Attempt first, Attempt second) {
        if (second.kind() == Attempt.Kind.PROCESSED && first.kind() == Attempt.Kind.PROCESSED) {
            return "idempotency FAILED: the consumer processed the same message twice";
        }
        if (first.kind() == Attempt.Kind.REJECTED || first.kind() == Attempt.Kind.OTHER) {
            return "idempotency not shown: the first delivery was not processed: " + first.describe();
        }
        return "idempotency FAILED: the second delivery was not skipped: " + second.describe();
    }

    private URI endpoint() {
        if (consumerUrl == null) {
            return env.httpUri("CONSUMER_URL", ReplayCli.DEFAULT_CONSUMER_URL);
        }
        try {
            return Env.of(Map.of("--consumer-url", consumerUrl)).httpUri("--consumer-url", null);
        } catch (ConfigException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage().replace("--consumer-url=", "--consumer-url "));
        }
    }

    /**
     * The message {@code id}, if the relay has delivered it: sent before, one still pending or dead
     * could reach the consumer ahead of an earlier message of its aggregate that the relay holds.
     */
    private OutboxMessage fromOutbox(UUID id) {
        try (Database db = database.open(env)) {
            OutboxEntry entry = OutboxAdmin.create(db.jdbi(), database.names()).find(id)
                    .orElseThrow(() -> new CliFailure("no message with id " + id + " in the outbox"));
            if (entry.status() != MessageStatus.PUBLISHED) {
                throw new CliFailure("message " + id + " is " + entry.status() + ": duplicate sends only a message the "
                        + "relay has delivered (PUBLISHED), so that it cannot overtake an earlier one of its aggregate");
            }
            return entry.message();
        }
    }
}
