package io.outboxkit.app.broker;

import io.outboxkit.app.ConfigException;
import io.outboxkit.app.Env;
import io.outboxkit.core.InvalidOptionException;
import io.outboxkit.core.OutboxException;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.spi.MessageSource;
import io.outboxkit.kafka.KafkaPublisher;
import io.outboxkit.kafka.KafkaSource;
import io.outboxkit.nats.NatsPublisher;
import io.outboxkit.nats.NatsSource;
import io.outboxkit.rabbitmq.RabbitMqPublisher;
import io.outboxkit.rabbitmq.RabbitMqSource;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The broker a service talks to and its settings, read from the environment by {@link #sink} (the
 * relay: {@code SINK}) or {@link #source} (the consumer: {@code SOURCE}); every service reads them
 * the same way, through this one class.
 *
 * <table>
 *   <caption>Variables</caption>
 *   <tr><th>Variable</th><th>Default</th><th>Used with</th></tr>
 *   <tr><td>{@code SINK} / {@code SOURCE}</td><td>{@code http}</td><td>{@code http|kafka|rabbitmq|nats}</td></tr>
 *   <tr><td>{@code KAFKA_BOOTSTRAP_SERVERS}</td><td>{@value #DEFAULT_KAFKA_BOOTSTRAP_SERVERS}</td><td>kafka</td></tr>
 *   <tr><td>{@code KAFKA_TOPIC}</td><td>{@code outbox.event.{aggregate_type}}</td><td>kafka: a template with
 *       {@code {aggregate_type}} and {@code {event_type}}; the source reads every topic it can produce but
 *       {@code KAFKA_DEAD_LETTER_TOPIC}</td></tr>
 *   <tr><td>{@code KAFKA_DEAD_LETTER_TOPIC}</td><td>{@value KafkaSource#DEFAULT_DEAD_LETTER_TOPIC}</td><td>kafka
 *       source: where it copies the records it cannot read or gives up on</td></tr>
 *   <tr><td>{@code RABBITMQ_URI}</td><td>{@value #DEFAULT_RABBITMQ_URI}</td><td>rabbitmq</td></tr>
 *   <tr><td>{@code RABBITMQ_EXCHANGE}</td><td>{@code outbox}</td><td>rabbitmq</td></tr>
 *   <tr><td>{@code NATS_URL}</td><td>{@value #DEFAULT_NATS_URL}</td><td>nats (comma-separated servers)</td></tr>
 *   <tr><td>{@code NATS_STREAM}</td><td>{@code OUTBOX}</td><td>nats</td></tr>
 *   <tr><td>{@code NATS_SUBJECT_PREFIX}</td><td>{@code outbox}</td><td>nats: subjects
 *       {@code <prefix>.<aggregate_type>.<event_type>}, the stream taking {@code <prefix>.>}; outboxes
 *       sharing a NATS server each need their own</td></tr>
 * </table>
 * A source also has the consumer's name ({@code CONSUMER_NAME}, read by the consumer): the Kafka
 * consumer group, the RabbitMQ queue (durable, bound to the exchange with {@code #}), the NATS
 * durable pull consumer.
 *
 * <p>Only the chosen broker's variables are read and checked; a bad one is a {@link ConfigException}
 * with one line naming it. A password or token in a URI never appears in an error, a log line or
 * {@link #toString()}: see {@link #redact(String)}. Immutable and thread-safe.
 *
 * @param variable     {@code SINK} or {@code SOURCE}: what errors name
 * @param broker       the broker chosen
 * @param kafkaBootstrapServers {@code KAFKA_BOOTSTRAP_SERVERS}, or null unless kafka
 * @param kafkaTopic   {@code KAFKA_TOPIC}, or null unless kafka
 * @param kafkaDeadLetterTopic {@code KAFKA_DEAD_LETTER_TOPIC}, or null unless a kafka source
 * @param rabbitMqUri  {@code RABBITMQ_URI} (it may hold a password), or null unless rabbitmq
 * @param rabbitMqExchange {@code RABBITMQ_EXCHANGE}, or null unless rabbitmq
 * @param natsUrl      {@code NATS_URL} (it may hold a password or token), or null unless nats
 * @param natsStream   {@code NATS_STREAM}, or null unless nats
 * @param natsSubjectPrefix {@code NATS_SUBJECT_PREFIX}, or null unless nats
 * @param consumerName the consumer's name for a source; null for a sink
 */
public record BrokerSettings(String variable, Broker broker, String kafkaBootstrapServers, String kafkaTopic,
                             String kafkaDeadLetterTopic, String rabbitMqUri, String rabbitMqExchange, String natsUrl, String natsStream,
                             String natsSubjectPrefix, String consumerName) {

    /** The relay's variable. */
    public static final String SINK = "SINK";
    /** The consumer's variable. */
    public static final String SOURCE = "SOURCE";
    /** The default {@code KAFKA_BOOTSTRAP_SERVERS}. */
    public static final String DEFAULT_KAFKA_BOOTSTRAP_SERVERS = "localhost:9092";
    /** The default {@code RABBITMQ_URI}: the broker's guest user on this machine's default virtual host. */
    public static final String DEFAULT_RABBITMQ_URI = "amqp://guest:guest@localhost:5672/%2F";
    /** The default {@code NATS_URL}. */
    public static final String DEFAULT_NATS_URL = "nats://localhost:4222";

    private static final Pattern PLACEHOLDER = Pattern.compile("\\{[^{}]*}");
    private static final Set<String> PLACEHOLDERS = Set.of("{aggregate_type}", "{event_type}");
    private static final Pattern HOST_PORT = Pattern.compile("(\\[[0-9a-fA-F:.]+]|[A-Za-z0-9._-]+):(\\d{1,5})");
    /** Per broker, the variable that sets each builder option a refusal may name. */
    private static final Map<Broker, Map<String, String>> VARIABLE_OF_OPTION = Map.of(
            Broker.KAFKA, Map.of("deadLetterTopic", "KAFKA_DEAD_LETTER_TOPIC"),
            Broker.RABBITMQ, Map.of("exchange", "RABBITMQ_EXCHANGE"),
            Broker.NATS, Map.of("stream", "NATS_STREAM", "subjectPrefix", "NATS_SUBJECT_PREFIX", "consumer", "CONSUMER_NAME"));
    /** A URI's user-info: up to its last {@code @} before whitespace or the next URI of a list (a comma may be in a password). */
    private static final Pattern USER_INFO = Pattern.compile("([A-Za-z][A-Za-z0-9+.-]*)://((?:(?!://)\\S)*)@");

    /**
     * Requires the variable and the broker; the other components are taken as given (read and
     * checked by {@link #sink} and {@link #source}, which is how settings should be made).
     */
    public BrokerSettings {
        Objects.requireNonNull(variable, "variable");
        Objects.requireNonNull(broker, "broker");
    }

    /**
     * The relay's sink: {@code SINK} and the chosen broker's variables.
     *
     * @throws ConfigException naming the first bad variable; a URI in it is shown without its password
     */
    public static BrokerSettings sink(Env env) {
        return read(env, SINK, null);
    }

    /**
     * The consumer's source: {@code SOURCE} and the chosen broker's variables; {@code consumerName}
     * (the consumer's {@code CONSUMER_NAME}) names the group, queue or durable consumer.
     *
     * @throws ConfigException naming the first bad variable; a URI in it is shown without its password
     */
    public static BrokerSettings source(Env env, String consumerName) {
        Objects.requireNonNull(consumerName, "consumerName");
        return read(env, SOURCE, consumerName);
    }

    private static BrokerSettings read(Env env, String variable, String consumerName) {
        Broker broker = env.oneOf(variable, Broker.HTTP);
        return switch (broker) {
            case HTTP -> new BrokerSettings(variable, broker, null, null, null, null, null, null, null, null, consumerName);
            case KAFKA -> {
                String servers = bootstrapServers(env.string("KAFKA_BOOTSTRAP_SERVERS", DEFAULT_KAFKA_BOOTSTRAP_SERVERS));
                String topic = topicTemplate(env.string("KAFKA_TOPIC", KafkaPublisher.DEFAULT_TOPIC_TEMPLATE));
                String deadLetterTopic = consumerName == null ? null
                        : deadLetterTopic(env.string("KAFKA_DEAD_LETTER_TOPIC", KafkaSource.DEFAULT_DEAD_LETTER_TOPIC), topic);
                yield new BrokerSettings(variable, broker, servers, topic, deadLetterTopic, null, null, null, null, null,
                        consumerName);
            }
            case RABBITMQ -> new BrokerSettings(variable, broker, null, null, null,
                    uri("RABBITMQ_URI", env.string("RABBITMQ_URI", DEFAULT_RABBITMQ_URI), Set.of("amqp", "amqps"),
                            "amqp://user:password@host:5672/%2F"),
                    env.string("RABBITMQ_EXCHANGE", RabbitMqPublisher.DEFAULT_EXCHANGE), null, null, null, consumerName);
            case NATS -> new BrokerSettings(variable, broker, null, null, null, null, null,
                    natsUrls(env.string("NATS_URL", DEFAULT_NATS_URL)),
                    env.string("NATS_STREAM", NatsPublisher.DEFAULT_STREAM),
                    env.string("NATS_SUBJECT_PREFIX", NatsPublisher.DEFAULT_SUBJECT_PREFIX), consumerName);
        };
    }

    /**
     * The relay's publisher for this broker, connected (or, for NATS that cannot be reached yet,
     * connecting in the background: see {@link BrokerPublisher}). {@code outbox} names the outbox
     * the relay reads (its {@code OUTBOX_SCHEMA} and {@code OUTBOX_TABLE}): NATS' error for a value
     * it would trim gives the statement that repairs the message's row in that table.
     *
     * @throws ConfigException       when a setting is refused by the broker's module, or the broker
     *                               refuses the connection for good (credentials, permissions)
     * @throws IllegalStateException for {@link Broker#HTTP}, which the relay builds itself
     */
    public BrokerPublisher openPublisher(OutboxNames outbox) {
        Objects.requireNonNull(outbox, "outbox");
        return switch (broker) {
            case HTTP -> throw new IllegalStateException(variable + "=http has no broker publisher");
            case KAFKA -> BrokerPublisher.connected(broker, describe(), built(() -> KafkaPublisher.builder(kafkaBootstrapServers)
                    .topicTemplate(kafkaTopic).build()));
            case RABBITMQ -> BrokerPublisher.connected(broker, describe(), built(() -> RabbitMqPublisher.builder(rabbitMqUri)
                    .exchange(rabbitMqExchange).build()));
            case NATS -> BrokerPublisher.connecting(broker, describe(), () -> built(() -> NatsPublisher.builder(natsUrl)
                    .stream(natsStream).subjectPrefix(natsSubjectPrefix).outbox(outbox).build()), BrokerConnector::unreachable);
        };
    }

    /**
     * The consumer's source for this broker, not started. Kafka: the consumer group
     * {@code consumerName}, reading every topic {@code KAFKA_TOPIC} can produce but its dead-letter
     * topic ({@code KAFKA_DEAD_LETTER_TOPIC}). RabbitMQ: the
     * durable queue {@code consumerName}, bound to the exchange with {@code #}. NATS: the durable
     * pull consumer {@code consumerName} on the stream (connects now; when NATS cannot be reached,
     * the consumer starts anyway and the source connects in the background: see {@link BrokerSource}).
     *
     * @throws ConfigException       when a setting is refused, or the broker cannot be used
     * @throws IllegalStateException for {@link Broker#HTTP} or a sink's settings
     */
    public MessageSource openSource() {
        if (consumerName == null) {
            throw new IllegalStateException(variable + " settings have no consumer name: read them with source(...)");
        }
        return switch (broker) {
            case HTTP -> throw new IllegalStateException(variable + "=http has no broker source");
            case KAFKA -> built(() -> KafkaSource.builder(kafkaBootstrapServers, consumerName)
                    .topicPattern(sourcePattern(kafkaTopic, kafkaDeadLetterTopic)).deadLetterTopic(kafkaDeadLetterTopic).build());
            case RABBITMQ -> built(() -> RabbitMqSource.builder(rabbitMqUri, consumerName).exchange(rabbitMqExchange).build());
            case NATS -> BrokerSource.connecting(broker, describe(), () -> built(() -> NatsSource.builder(natsUrl, consumerName)
                    .stream(natsStream).subjectPrefix(natsSubjectPrefix).build()), BrokerConnector::unreachable);
        };
    }

    /**
     * The regular expression of every topic {@code template} can produce: its literal text as it
     * is, each placeholder any legal topic name's characters.
     */
    static String topicPattern(String template) {
        StringBuilder regex = new StringBuilder();
        Matcher m = PLACEHOLDER.matcher(template);
        int at = 0;
        while (m.find()) {
            regex.append(Pattern.quote(template.substring(at, m.start()))).append("[a-zA-Z0-9._-]+");
            at = m.end();
        }
        if (at < template.length()) {
            regex.append(Pattern.quote(template.substring(at)));
        }
        return regex.toString();
    }

    /**
     * The regular expression of the topics a source reads: every one {@code template} can produce
     * but {@code deadLetterTopic}. A template that can name every topic ({@code {aggregate_type}})
     * covers the dead-letter topic too, and reading it would hand the source its own dead letters.
     */
    static String sourcePattern(String template, String deadLetterTopic) {
        return "(?!" + Pattern.quote(deadLetterTopic) + "$)" + topicPattern(template);
    }

    /**
     * The broker and where it is, safe to log: {@code kafka at localhost:9092 (topic
     * outbox.event.{aggregate_type})} (a source adds {@code , dead letters to outbox.dead-letter}), {@code rabbitmq at amqp://guest:***@localhost:5672/%2F
     * (exchange outbox)}, {@code nats at nats://localhost:4222 (stream OUTBOX, subjects outbox.>)},
     * {@code http}.
     */
    public String describe() {
        return switch (broker) {
            case HTTP -> "http";
            case KAFKA -> "kafka at " + kafkaBootstrapServers + " (topic " + kafkaTopic
                    + (kafkaDeadLetterTopic == null ? "" : ", dead letters to " + kafkaDeadLetterTopic) + ")";
            case RABBITMQ -> "rabbitmq at " + redact(rabbitMqUri) + " (exchange " + rabbitMqExchange + ")";
            case NATS -> "nats at " + redact(natsUrl) + " (stream " + natsStream + ", subjects " + natsSubjectPrefix + ".>)";
        };
    }

    /**
     * {@code text} with the secret of every URI's user-info (up to the last {@code @} of the URI, so
     * that a password holding an unescaped {@code @} or {@code /} is hidden whole) replaced by {@code ***}: the password
     * ({@code amqp://user:***@host}), or a NATS token standing alone ({@code nats://***@host}); an
     * AMQP user without a password is kept. Null stays null.
     */
    public static String redact(String text) {
        if (text == null) {
            return null;
        }
        Matcher m = USER_INFO.matcher(text);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String scheme = m.group(1);
            String userInfo = m.group(2);
            int colon = userInfo.indexOf(':');
            String shown = colon >= 0 ? userInfo.substring(0, colon) + ":***"
                    : scheme.toLowerCase(Locale.ROOT).startsWith("amqp") ? userInfo : "***";
            m.appendReplacement(out, Matcher.quoteReplacement(scheme + "://" + shown + "@"));
        }
        m.appendTail(out);
        return out.toString();
    }

    /** The settings, every URI without its secret. */
    @Override
    public String toString() {
        return "BrokerSettings[" + variable + "=" + broker.id() + (broker == Broker.HTTP ? "" : ", " + describe())
                + (consumerName == null ? "" : ", consumer " + consumerName) + "]";
    }

    /**
     * Runs a broker module's builder, turning what it refuses into one line: {@code SINK=nats: } and
     * the module's message, in which each option this class sets from a variable is named as that
     * variable ({@code NATS_STREAM must be ...}).
     */
    private <T> T built(Supplier<T> builder) {
        try {
            return builder.get();
        } catch (InvalidOptionException e) {
            Map<String, String> variables = VARIABLE_OF_OPTION.getOrDefault(broker, Map.of());
            throw new ConfigException(variable + "=" + broker.id() + ": " + redact(e.reasonNaming(variables::get)), e);
        } catch (IllegalArgumentException | OutboxException e) {
            throw new ConfigException(variable + "=" + broker.id() + ": " + redact(e.getMessage()), e);
        }
    }

    private static String bootstrapServers(String value) {
        for (String server : value.split(",", -1)) {
            Matcher m = HOST_PORT.matcher(server.strip());
            if (!m.matches() || Integer.parseInt(m.group(2)) < 1 || Integer.parseInt(m.group(2)) > 65_535) {
                throw new ConfigException("KAFKA_BOOTSTRAP_SERVERS=" + redact(value) + " is not a comma-separated list of "
                        + "host:port (e.g. localhost:9092)");
            }
        }
        return value;
    }

    private static String topicTemplate(String value) {
        Matcher m = PLACEHOLDER.matcher(value);
        while (m.find()) {
            if (!PLACEHOLDERS.contains(m.group())) {
                throw new ConfigException("KAFKA_TOPIC=" + value + " has an unknown placeholder " + m.group()
                        + "; the known ones are {aggregate_type} and {event_type}");
            }
        }
        String literal = PLACEHOLDER.matcher(value).replaceAll("");
        if (!literal.matches("[a-zA-Z0-9._-]*")) {
            throw new ConfigException("KAFKA_TOPIC=" + value + " may hold only letters, digits, '.', '_', '-' and the "
                    + "placeholders {aggregate_type} and {event_type}");
        }
        return value;
    }

    /**
     * {@code value}, unless it is the template's one topic: the source would read nothing. Its form
     * is checked by {@link KafkaSource}'s builder, whose refusal names this variable.
     */
    private static String deadLetterTopic(String value, String template) {
        if (value.equals(template)) {
            throw new ConfigException("KAFKA_TOPIC=" + template + " is the dead-letter topic, where the consumer copies the "
                    + "messages it cannot apply; set KAFKA_DEAD_LETTER_TOPIC to another topic");
        }
        return value;
    }

    private static String natsUrls(String value) {
        for (String url : value.split(",", -1)) {
            uri("NATS_URL", url.strip(), Set.of("nats", "tls"), "nats://host:4222 (several separated by commas)");
        }
        return value;
    }

    /**
     * Checks {@code value} is a URI of one of {@code schemes} with a host, and a port of 1 to 65535
     * or none (the broker's default); the error shows it redacted.
     */
    private static String uri(String name, String value, Set<String> schemes, String form) {
        String problem;
        try {
            URI uri = new URI(value);
            String scheme = uri.getScheme() == null ? null : uri.getScheme().toLowerCase(Locale.ROOT);
            if (scheme == null || !schemes.contains(scheme)) {
                problem = "does not start with " + String.join(":// or ", schemes.stream().sorted().toList()) + "://";
            } else if (uri.getHost() == null) {
                problem = "has no host (or one that is not a valid host name)";
            } else if (uri.getPort() == 0 || uri.getPort() > 65_535) { // the client would try it forever, never reaching it
                problem = "has port " + uri.getPort() + ", not 1 to 65535";
            } else {
                return value;
            }
        } catch (URISyntaxException e) {
            problem = "is not a valid URI (" + e.getReason() + " at index " + e.getIndex() + ")";
        }
        throw new ConfigException(name + "=" + redact(value) + " " + problem + "; expected " + form);
    }
}
