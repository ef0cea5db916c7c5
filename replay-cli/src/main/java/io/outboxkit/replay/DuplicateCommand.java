package io.outboxkit.replay;

import io.outboxkit.app.ConfigException;
import io.outboxkit.app.Database;
import io.outboxkit.app.Env;
import io.outboxkit.app.delivery.Delivery;
import io.outboxkit.app.delivery.DeliveryException;
import io.outboxkit.app.delivery.HttpPublisher;
import io.outboxkit.core.OutboxAdmin;
import io.outboxkit.core.OutboxEntry;
import io.outboxkit.core.OutboxMessage;
import java.io.PrintWriter;
import java.net.URI;
import java.time.Duration;
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
 * {@code --message-id}.
 */
@Command(name = "duplicate", mixinStandardHelpOptions = true,
        description = "Deliver one message to the consumer twice; succeed when the second is skipped as a duplicate.")
final class DuplicateCommand implements Callable<Integer> {

    /** The limit on connecting to the consumer and on waiting for each answer. */
    static final Duration TIMEOUT = Duration.ofSeconds(10);

    private final Env env;

    @Spec
    CommandSpec spec;

    @Mixin
    DatabaseOptions database;

    @Option(names = "--message-id", paramLabel = "ID", converter = UuidConverter.class,
            description = "send this message from the outbox (default: a made-up OrderCreated for a new order)")
    UUID messageId;

    @Option(names = "--consumer-url", paramLabel = "URL",
            description = "the consumer's endpoint (default: $CONSUMER_URL, else " + ReplayCli.DEFAULT_CONSUMER_URL + ")")
    String consumerUrl;

    DuplicateCommand(Env env) {
        this.env = env;
    }

    @Override
    public Integer call() {
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

    private OutboxMessage fromOutbox(UUID id) {
        try (Database db = database.open(env)) {
            return OutboxAdmin.create(db.jdbi()).find(id).map(OutboxEntry::message)
                    .orElseThrow(() -> new CliFailure("no message with id " + id + " in the outbox"));
        }
    }
}
