package io.outboxkit.kafka;

import io.outboxkit.core.InvalidOptionException;
import io.outboxkit.core.spi.BatchReceiver;
import io.outboxkit.core.spi.Closing;
import io.outboxkit.core.spi.MessageSource;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads outbox messages from Kafka in a consumer group and hands them to a {@link BatchReceiver} in
 * batches (the consumer's end of {@link KafkaPublisher}). Offsets are committed only after the
 * receiver returned, and only up to the first message of each partition that is not done: a crash
 * anywhere before gives a redelivery, which an idempotent receiver skips. Commits go at most once
 * per {@linkplain Builder#commitInterval commit interval} (100 ms) without waiting for the
 * broker's answer, and at once, waiting for it, when the source stops or loses partitions, and
 * after a batch that dead-lettered a record.
 *
 * <p><b>Order per aggregate</b> comes from the key: the publisher keys each record by aggregate id,
 * so an aggregate's messages are in one partition, in order. The source hands the receiver at most
 * one message per aggregate per batch, the earliest not done; a message the receiver failed waits
 * out a backoff (exponential, with jitter) and holds back the later messages of its aggregate until
 * it succeeds or is dead-lettered, while other aggregates go on. A partition whose in-memory queue
 * fills up behind a waiting message stops fetching until that message is done.
 *
 * <p><b>Nothing is dropped silently.</b> A record that is not an outbox message ({@link
 * io.outboxkit.core.spi.TransportHeaders#read} refuses it, or it is not UTF-8 text) is copied at once
 * to the dead-letter topic, and one the receiver failed {@code maxAttempts} times too, with headers
 * {@code dead_letter_error}, {@code dead_letter_topic}, {@code dead_letter_partition}, {@code
 * dead_letter_offset}, {@code dead_letter_consumer}, {@code dead_letter_attempts} and {@code
 * dead_letter_timestamp} (the record's timestamp; the copy has its own) added to its own; it is
 * acknowledged only once the dead-letter copy is confirmed. A copy refused as too large is sent
 * short, as {@link io.outboxkit.core.spi.ShortDeadLetter} describes, rather than retried for ever.
 * A receiver that throws fails the whole
 * batch: retried after a backoff, without counting towards any message's attempts (it
 * says nothing about one message). Attempts are counted in memory: after a restart, or a rebalance
 * that gives its partition to another consumer, a message starts again from 1; a rebalance that
 * hands the partition back to this source (an eager one, when a replica joins) keeps its count.
 * A record dead-lettered beyond its partition's committed offset is named in the commit's metadata
 * (at most 4000 characters of them; see {@code docs/brokers/kafka.md}), so that the source assigned
 * the partition next, after a restart, a crash or a rebalance, skips it instead of applying it
 * after the later messages of its aggregate: that commit goes at once, whatever the commit
 * interval, and the partition's next message waits for it.
 *
 * <p><b>Duplicates</b> reach the receiver after a crash or rebalance between the receiver's
 * return and the commit, and for messages done beyond a partition's first waiting message; the
 * receiver must be idempotent ({@link io.outboxkit.core.IdempotentHandler}).
 *
 * <p>Thread-safe; the receiver is called on one thread of the source's own.
 */
public final class KafkaSource implements MessageSource {

    /** The topics read unless set: every topic of {@link KafkaPublisher}'s default template, {@code outbox\.event\..*}. */
    public static final String DEFAULT_TOPIC_PATTERN = "outbox\\.event\\..*";
    /** Where given-up records go unless set: {@code outbox.dead-letter}. */
    public static final String DEFAULT_DEAD_LETTER_TOPIC = "outbox.dead-letter";
    /** How often the receiver may fail a message before it is dead-lettered: 10. */
    public static final int DEFAULT_MAX_ATTEMPTS = 10;
    /** The wait after a message's first failure: 1 second, doubling after each further one. */
    public static final Duration DEFAULT_INITIAL_BACKOFF = Duration.ofSeconds(1);
    /** The longest wait between a message's attempts: 1 minute. */
    public static final Duration DEFAULT_MAX_BACKOFF = Duration.ofMinutes(1);
    /** The most messages handed to the receiver at once (and polled at once): 500. */
    public static final int DEFAULT_MAX_BATCH_SIZE = 500;
    /** The shortest time between two offset commits unless set: 100 ms (see {@link Builder#commitInterval}). */
    public static final Duration DEFAULT_COMMIT_INTERVAL = Duration.ofMillis(100);
    /** How long {@link #close()} waits for the batch in hand before interrupting it: 30 seconds. */
    public static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(30);

    private static final Logger LOG = LoggerFactory.getLogger(KafkaSource.class);
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(2);

    private final Settings settings;
    private final Map<String, Object> consumerProperties;
    private final Map<String, Object> producerProperties;
    private final BrokerProbe probe;
    private final Object lifecycle = new Object();
    private SourceLoop loop;
    /** Written under {@code lifecycle}; volatile for {@link #isAlive()}, which takes no lock. */
    private volatile Thread thread;
    private volatile boolean closed;
    /** The first close(), which a close called meanwhile waits for. */
    private final Closing closing = new Closing();

    private KafkaSource(Settings settings, Map<String, Object> consumerProperties, Map<String, Object> producerProperties) {
        this.settings = settings;
        this.consumerProperties = consumerProperties;
        this.producerProperties = producerProperties;
        this.probe = new BrokerProbe(ClientProperties.forAdmin(consumerProperties), PROBE_TIMEOUT);
    }

    /**
     * A builder for a source reading from the Kafka cluster at {@code bootstrapServers} as the
     * consumer group {@code consumerName} (the consumer's name, e.g. {@code CONSUMER_NAME}).
     */
    public static Builder builder(String bootstrapServers, String consumerName) {
        return new Builder(bootstrapServers, consumerName);
    }

    /**
     * Subscribes and starts receiving on a thread of the source's own ({@code
     * outbox-kafka-source-<consumer>}).
     *
     * @throws IllegalStateException when already started or closed
     */
    @Override
    public void start(BatchReceiver receiver) {
        Objects.requireNonNull(receiver, "receiver");
        synchronized (lifecycle) {
            if (closed || loop != null) {
                throw new IllegalStateException("KafkaSource " + settings.name() + " was already "
                        + (closed ? "closed" : "started"));
            }
            Consumer<byte[], byte[]> consumer = new KafkaConsumer<>(consumerProperties);
            DeadLetters deadLetters;
            try {
                deadLetters = new DeadLetters(producerProperties, settings.deadLetterTopic(), settings.name());
            } catch (KafkaException e) {
                consumer.close(Duration.ZERO);
                throw e;
            }
            loop = new SourceLoop(settings, consumer, deadLetters, receiver);
            thread = new Thread(() -> {
                try {
                    loop.run();
                } finally {
                    deadLetters.close();
                }
            }, "outbox-kafka-source-" + settings.name());
            thread.start();
        }
        LOG.info("[{}] started: {}", settings.name(), this);
    }

    /**
     * Whether the source is started, not closed, and the cluster answers (a round trip to it, at
     * most about 2 seconds): for a health check.
     */
    @Override
    public boolean isConnected() {
        synchronized (lifecycle) {
            if (loop == null || closed || !thread.isAlive()) {
                return false;
            }
        }
        return probe.reachable();
    }

    /**
     * Whether the receiving thread lives (the client reconnects within it), or the source is not
     * started yet or was closed: see {@link MessageSource#isAlive()}. Asks nothing of the cluster.
     */
    @Override
    public boolean isAlive() {
        // No lock: start() holds it while it builds the client (resolving the bootstrap servers' names, which may be
        // slow), and a probe must not wait for that. Not Thread.isAlive(): a thread published but not started yet has
        // not ended.
        Thread current = thread;
        return current == null || closed || current.getState() != Thread.State.TERMINATED;
    }

    /**
     * Stops receiving: the batch in the receiver's hands is finished and its offsets committed
     * first (waiting up to {@link #CLOSE_TIMEOUT}, then interrupting it); what was not committed is
     * redelivered to the group's next consumer. Called from the receiver (on the source's own
     * thread), it returns at once: the loop ends once the receiver has returned that batch, whose
     * offsets are then committed as above, and closes the consumer. Calling it again, or from the
     * receiver, does nothing more; called while another close is under way (on another thread than
     * the receiver's), it returns once that close has ended and, when that close came from the
     * receiver, once its batch is committed and its thread has ended, waiting at most {@link
     * #CLOSE_TIMEOUT}.
     */
    @Override
    public void close() {
        Thread stopping;
        boolean underWay;
        synchronized (lifecycle) {
            underWay = closed;
            closed = true;
            stopping = thread;
            if (!underWay && loop != null) {
                loop.stop();
            }
        }
        closing.close(!underWay, Collections.singleton(stopping), CLOSE_TIMEOUT, () -> stop(stopping));
    }

    private void stop(Thread stopping) {
        // From within the receiver the loop ends after this batch, and commits and closes the consumer itself.
        if (stopping != null && !closing.byWorker()) {
            try {
                stopping.join(CLOSE_TIMEOUT.toMillis());
                if (stopping.isAlive()) {
                    LOG.warn("[{}] batch still in the receiver after {}; interrupting it (it will be redelivered)",
                            settings.name(), CLOSE_TIMEOUT);
                    stopping.interrupt();
                    stopping.join(TimeUnit.SECONDS.toMillis(10));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        probe.close();
    }

    /** The settings, without the extra client properties (they may hold secrets). */
    @Override
    public String toString() {
        return "KafkaSource[bootstrapServers=" + consumerProperties.get(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG)
                + ", consumer=" + settings.name() + ", " + settings.topicsDescription() + ", deadLetterTopic="
                + settings.deadLetterTopic() + ", maxAttempts=" + settings.maxAttempts() + ", backoff="
                + settings.initialBackoff().toMillis() + ".." + settings.maxBackoff().toMillis() + "ms, maxBatchSize="
                + settings.maxBatchSize() + ", commitInterval=" + settings.commitInterval().toMillis() + "ms]";
    }

    /** What the loop needs to know, checked. */
    record Settings(String name, Pattern pattern, List<String> topics, String deadLetterTopic, int maxAttempts,
                    Duration initialBackoff, Duration maxBackoff, int maxBatchSize, Duration commitInterval) {

        void subscribe(Consumer<byte[], byte[]> consumer, ConsumerRebalanceListener listener) {
            if (topics != null) {
                consumer.subscribe(topics, listener);
            } else {
                consumer.subscribe(pattern, listener);
            }
        }

        String topicsDescription() {
            return topics != null ? "topics=" + topics : "topicPattern=" + pattern.pattern();
        }
    }

    /**
     * Builds a {@link KafkaSource}; every option has a named default. Not thread-safe; {@link
     * #build()} checks every option and names the one that is wrong.
     */
    public static final class Builder {

        private static final Map<String, String> OWNED = Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "give the servers to KafkaSource.builder",
                ConsumerConfig.GROUP_ID_CONFIG, "the consumer group is the consumer name given to KafkaSource.builder",
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "offsets are committed only after the receiver returned",
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, "the source reads keys and values as bytes, checked as UTF-8",
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, "the source reads keys and values as bytes, checked as UTF-8",
                ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "use maxBatchSize(...)");

        private final String bootstrapServers;
        private final String consumerName;
        private String topicPattern = DEFAULT_TOPIC_PATTERN;
        private List<String> topics;
        private String deadLetterTopic = DEFAULT_DEAD_LETTER_TOPIC;
        private int maxAttempts = DEFAULT_MAX_ATTEMPTS;
        private Duration initialBackoff = DEFAULT_INITIAL_BACKOFF;
        private Duration maxBackoff = DEFAULT_MAX_BACKOFF;
        private int maxBatchSize = DEFAULT_MAX_BATCH_SIZE;
        private Duration commitInterval = DEFAULT_COMMIT_INTERVAL;
        private final Map<String, Object> extra = new LinkedHashMap<>();

        private Builder(String bootstrapServers, String consumerName) {
            this.bootstrapServers = bootstrapServers;
            this.consumerName = consumerName;
        }

        /**
         * Reads every topic whose name matches {@code regex} (Java syntax), including topics
         * created later (found within about 5 seconds). Default {@value #DEFAULT_TOPIC_PATTERN}.
         */
        public Builder topicPattern(String regex) {
            this.topicPattern = regex;
            this.topics = null;
            return this;
        }

        /** Reads exactly these topics instead of a pattern. */
        public Builder topics(List<String> topics) {
            this.topics = topics == null ? null : List.copyOf(topics);
            this.topicPattern = null;
            return this;
        }

        /** Where unreadable and given-up records go. Default {@value #DEFAULT_DEAD_LETTER_TOPIC}. */
        public Builder deadLetterTopic(String deadLetterTopic) {
            this.deadLetterTopic = deadLetterTopic;
            return this;
        }

        /** How often the receiver may fail a message before it is dead-lettered: 1 to 1000, default 10. */
        public Builder maxAttempts(int maxAttempts) {
            this.maxAttempts = maxAttempts;
            return this;
        }

        /** The wait after a message's first failure, doubling after each: 10 ms to 1 hour, default 1 second. */
        public Builder initialBackoff(Duration initialBackoff) {
            this.initialBackoff = initialBackoff;
            return this;
        }

        /** The longest wait between attempts: from initialBackoff to 1 hour, default 1 minute. */
        public Builder maxBackoff(Duration maxBackoff) {
            this.maxBackoff = maxBackoff;
            return this;
        }

        /** The most messages handed to the receiver at once: 1 to 10,000, default 500. */
        public Builder maxBatchSize(int maxBatchSize) {
            this.maxBatchSize = maxBatchSize;
            return this;
        }

        /**
         * The shortest time between two offset commits during a run, 0 to 1 minute; default 100
         * ms. The offsets of the batches done meanwhile go with the next commit, so that at a
         * steady trickle (a batch per message) the broker does not store offsets once per message;
         * 0 commits after every batch. A commit never comes before the receiver returned, and
         * the source commits at once, and waits for it, when it stops or loses partitions, and
         * after a batch that dead-lettered a record; what a crash leaves uncommitted (at most this
         * long of work) is redelivered and skipped by an idempotent receiver.
         */
        public Builder commitInterval(Duration commitInterval) {
            this.commitInterval = commitInterval;
            return this;
        }

        /**
         * Passes a property to the Kafka consumer, and to the dead-letter producer where it is one
         * of its properties (e.g. {@code security.protocol}, {@code sasl.jaas.config}). Those the
         * guarantees rest on (group, auto commit, deserializers, batch size) are refused with the
         * reason. Values are never logged or shown by {@link KafkaSource#toString()}.
         */
        public Builder property(String name, Object value) {
            ClientProperties.put(extra, name, value, OWNED);
            return this;
        }

        /**
         * A source with these settings (it connects at {@link KafkaSource#start}).
         *
         * @throws InvalidOptionException naming the option that is wrong and what it may be (an
         *                                {@link IllegalArgumentException} when the client properties are not valid)
         */
        public KafkaSource build() {
            String servers = ClientProperties.notBlank("bootstrapServers", bootstrapServers);
            String name = ClientProperties.notBlank("consumerName", consumerName);
            if (name.length() > 200) {
                throw new InvalidOptionException("consumerName", "consumerName must be at most 200 characters");
            }
            Pattern pattern = null;
            if (topics != null) {
                if (topics.isEmpty()) {
                    throw new InvalidOptionException("topics", "topics must name at least one topic");
                }
                topics.forEach(t -> TopicTemplate.requireLegal(String.valueOf(t), "topics", "topics: '" + t + "'"));
            } else {
                try {
                    pattern = Pattern.compile(ClientProperties.notBlank("topicPattern", topicPattern));
                } catch (PatternSyntaxException e) {
                    throw new InvalidOptionException("topicPattern", "topicPattern '" + topicPattern + "' is not a regular expression: "
                            + e.getDescription());
                }
            }
            String dlt = ClientProperties.notBlank("deadLetterTopic", deadLetterTopic);
            TopicTemplate.requireLegal(dlt, "deadLetterTopic", "deadLetterTopic '" + dlt + "'");
            if (topics != null ? topics.contains(dlt) : pattern.matcher(dlt).matches()) {
                throw new InvalidOptionException("deadLetterTopic", "deadLetterTopic '" + dlt + "' is one of the topics read: a dead"
                        + " letter would be read again; choose another deadLetterTopic or topic pattern");
            }
            if (maxAttempts < 1 || maxAttempts > 1000) {
                throw new InvalidOptionException("maxAttempts", "maxAttempts must be from 1 to 1000, not " + maxAttempts);
            }
            ClientProperties.within("initialBackoff", initialBackoff, Duration.ofMillis(10), Duration.ofHours(1));
            ClientProperties.within("maxBackoff", maxBackoff, initialBackoff, Duration.ofHours(1));
            if (maxBatchSize < 1 || maxBatchSize > 10_000) {
                throw new InvalidOptionException("maxBatchSize", "maxBatchSize must be from 1 to 10000, not " + maxBatchSize);
            }
            ClientProperties.within("commitInterval", commitInterval, Duration.ZERO, Duration.ofMinutes(1));
            Map<String, Object> consumer = new LinkedHashMap<>();
            // Defaults a user may override: read a new group's topics from their start, never create a
            // topic by subscribing, and find topics created later (pattern) within seconds, not minutes.
            consumer.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            consumer.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
            consumer.put(ConsumerConfig.METADATA_MAX_AGE_CONFIG, 5_000);
            consumer.put(ConsumerConfig.CLIENT_ID_CONFIG, "outboxkit-source-" + name);
            consumer.putAll(extra);
            consumer.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, servers);
            consumer.put(ConsumerConfig.GROUP_ID_CONFIG, name);
            consumer.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
            consumer.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, maxBatchSize);
            consumer.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
            consumer.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
            Map<String, Object> producer = new LinkedHashMap<>();
            consumer.forEach((k, v) -> {
                if (ProducerConfig.configNames().contains(k) && !k.equals(ProducerConfig.CLIENT_ID_CONFIG)) {
                    producer.put(k, v);
                }
            });
            producer.put(ProducerConfig.CLIENT_ID_CONFIG, "outboxkit-dead-letters-" + name);
            Settings settings = new Settings(name, pattern, topics, dlt, maxAttempts, initialBackoff, maxBackoff,
                    maxBatchSize, commitInterval);
            try {
                // Checks the client properties now, with one clear line, rather than at start().
                new org.apache.kafka.clients.consumer.ConsumerConfig(consumer);
            } catch (KafkaException e) {
                throw new IllegalArgumentException("the Kafka consumer's properties are not valid: " + e.getMessage(), e);
            }
            return new KafkaSource(settings, Map.copyOf(consumer), Map.copyOf(producer));
        }
    }
}
