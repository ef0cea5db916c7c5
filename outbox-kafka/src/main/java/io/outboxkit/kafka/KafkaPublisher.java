package io.outboxkit.kafka;

import io.outboxkit.core.InvalidOptionException;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.spi.Causes;
import io.outboxkit.core.spi.FailureReason;
import io.outboxkit.core.spi.MessagePublisher;
import io.outboxkit.core.spi.TransportHeaders;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes outbox messages to Apache Kafka, by default exactly as Debezium's outbox event router
 * does in its default configuration, so a consumer written for it reads these records unchanged:
 * topic {@code outbox.event.<aggregate_type>}, key = the aggregate id, value = the payload (JSON
 * text, UTF-8), header {@code id} = the message id. The other {@link TransportHeaders} ({@code
 * sequence}, {@code aggregate_type}, {@code aggregate_id}, {@code event_type}, {@code created_at})
 * and the message's own headers travel as UTF-8 headers too; the record's timestamp is the time it
 * was sent (the producer's clock), so that a message delivered long after its write is kept as long
 * as the topic keeps any other.
 *
 * <p><b>Delivered means confirmed.</b> The producer runs with {@code acks=all} and idempotence: a
 * message counts as delivered only when the broker acknowledged that every in-sync replica has it,
 * and the producer's own retries neither duplicate nor reorder records of one partition. The key
 * (aggregate id) chooses the partition, so the messages of one aggregate stay in order in one
 * partition.
 *
 * <p><b>A batch is sent as a whole</b> ({@link #publishAll}): every record is handed to the producer,
 * then one flush, and each record's own confirmation decides its message's outcome. A message the
 * broker refuses (an unknown topic while the broker does not create topics, no authorization, a
 * record too large, an illegal topic name from the template) fails alone with a line saying why;
 * the rest of its batch is delivered. <b>Every wait is bounded</b>: a batch returns within about
 * {@code maxBlock + deliveryTimeout} (15 s by default, half the poller's default lease) even when
 * the broker is down, its messages then failed with the reason, to be retried.
 *
 * <p>Immutable and thread-safe: one publisher (one producer) serves every poller worker.
 * {@link #toString()} and the log never show the extra client properties, which may hold secrets.
 */
public final class KafkaPublisher implements MessagePublisher, AutoCloseable {

    /** The topic unless set: Debezium's outbox event router's default, {@code outbox.event.{aggregate_type}}. */
    public static final String DEFAULT_TOPIC_TEMPLATE = "outbox.event." + TopicTemplate.AGGREGATE_TYPE;
    /** How long a record may wait for the broker's confirmation, retries included: 10 seconds. */
    public static final Duration DEFAULT_DELIVERY_TIMEOUT = Duration.ofSeconds(10);
    /** How long handing a record to the producer may wait for its topic's metadata or buffer space: 5 seconds. */
    public static final Duration DEFAULT_MAX_BLOCK = Duration.ofSeconds(5);
    /** The producer's client id unless set. */
    public static final String DEFAULT_CLIENT_ID = "outboxkit-publisher";

    private static final Logger LOG = LoggerFactory.getLogger(KafkaPublisher.class);
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(2);
    /** Time beyond the producer's own bounds for threads to hand over results. */
    private static final Duration SLACK = Duration.ofSeconds(2);
    private static final AtomicInteger SENDER_THREADS = new AtomicInteger();

    private final KafkaProducer<String, String> producer;
    private final BrokerProbe probe;
    private final ExecutorService senders;
    private final TopicTemplate topics;
    private final String bootstrapServers;
    private final String clientId;
    private final Duration deliveryTimeout;
    private final Duration maxBlock;

    private KafkaPublisher(Builder b, TopicTemplate topics, KafkaProducer<String, String> producer, BrokerProbe probe) {
        this.producer = producer;
        this.probe = probe;
        this.topics = topics;
        this.bootstrapServers = b.bootstrapServers;
        this.clientId = b.clientId;
        this.deliveryTimeout = b.deliveryTimeout;
        this.maxBlock = b.maxBlock;
        this.senders = Executors.newCachedThreadPool(task -> {
            Thread thread = new Thread(task, "outbox-kafka-send-" + SENDER_THREADS.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
    }

    /** A builder for a publisher to the Kafka cluster at {@code bootstrapServers} ({@code host:port[,host:port...]}). */
    public static Builder builder(String bootstrapServers) {
        return new Builder(bootstrapServers);
    }

    /**
     * Publishes one message and returns once the broker confirmed it.
     *
     * @throws Exception why it was not delivered (see {@link #publishAll})
     */
    @Override
    public void publish(OutboxMessage message) throws Exception {
        Exception failure = publishAll(List.of(message)).get(message.id());
        if (failure != null) {
            throw failure;
        }
    }

    /**
     * Publishes a batch: every message is handed to the producer (the messages of one topic in list
     * order, different topics at once, so that one topic whose metadata does not come delays no
     * other), then the producer is flushed, and each message's outcome is its record's
     * confirmation. Returns within about {@code maxBlock + deliveryTimeout}.
     *
     * @return the messages not delivered, each with a line saying why (which the poller stores as
     *     its last error); every other message of the batch was confirmed by the broker
     * @throws InterruptedException when interrupted; the messages may or may not have been delivered
     * @throws IllegalStateException when the publisher was closed
     */
    @Override
    public Map<UUID, Exception> publishAll(List<OutboxMessage> batch) throws InterruptedException {
        Map<UUID, Exception> failures = new LinkedHashMap<>();
        Map<String, List<Pending>> byTopic = new LinkedHashMap<>();
        for (OutboxMessage message : batch) {
            try {
                String topic = topics.topicFor(message);
                byTopic.computeIfAbsent(topic, t -> new ArrayList<>()).add(new Pending(message, topic));
            } catch (IllegalArgumentException e) {
                failures.put(message.id(), new KafkaDeliveryException(FailureReason.REFUSED, e.getMessage(), e));
            }
        }
        if (byTopic.size() == 1) {
            // One topic has no other to wait beside: handed over on this thread, not another's (a
            // batch of one message, the usual one at a steady rate, would pay two thread wake-ups).
            if (senders.isShutdown()) {
                throw new IllegalStateException("KafkaPublisher " + clientId + " is closed");
            }
            Map.Entry<String, List<Pending>> only = byTopic.entrySet().iterator().next();
            send(only.getKey(), only.getValue());
        } else if (!byTopic.isEmpty()) {
            List<Future<?>> handing = new ArrayList<>();
            try {
                byTopic.forEach((topic, pending) -> handing.add(senders.submit(() -> send(topic, pending))));
            } catch (java.util.concurrent.RejectedExecutionException e) {
                throw new IllegalStateException("KafkaPublisher " + clientId + " is closed", e);
            }
            awaitHandedOver(handing);
        }
        flush();
        long deadline = System.nanoTime() + deliveryTimeout.plus(SLACK).toNanos();
        Map<String, BrokerProbe.NoMetadata> whyNoMetadata = new LinkedHashMap<>();
        for (List<Pending> pending : byTopic.values()) {
            for (Pending p : pending) {
                Exception failure = outcome(p, deadline, whyNoMetadata);
                if (failure != null) {
                    failures.put(p.message.id(), failure);
                    LOG.debug("[{}] message {} not delivered: {}", clientId, p.message.id(), failure.getMessage());
                } else {
                    LOG.debug("[{}] message {} delivered", clientId, p.message.id());
                }
            }
        }
        return failures;
    }

    /** Hands a topic's records to the producer in order; one wait for its metadata fails them all. */
    private void send(String topic, List<Pending> pending) {
        Exception noMetadata = null;
        for (Pending p : pending) {
            if (noMetadata != null) {
                p.notSent = true;
                p.result.completeExceptionally(noMetadata);
                continue;
            }
            try {
                producer.send(record(topic, p.message), (metadata, error) -> {
                    if (error == null) {
                        p.result.complete(metadata);
                    } else {
                        p.result.completeExceptionally(error);
                    }
                });
            } catch (KafkaException | IllegalStateException e) {
                p.result.completeExceptionally(e);
            }
            // A timeout reported while send() still ran is the wait for metadata (or buffer space), not the broker's answer.
            if (p.result.isCompletedExceptionally()) {
                Throwable cause = causeOf(p.result);
                if (cause instanceof TimeoutException) {
                    p.notSent = true;
                    noMetadata = (TimeoutException) cause;
                }
            }
        }
    }

    private void awaitHandedOver(List<Future<?>> handing) throws InterruptedException {
        long deadline = System.nanoTime() + maxBlock.plus(SLACK).toNanos();
        for (Future<?> f : handing) {
            try {
                f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (ExecutionException e) {
                // each record's own result says what happened to it
            } catch (java.util.concurrent.TimeoutException e) {
                f.cancel(true); // its unsent records stay unconfirmed and are reported as such
            }
        }
    }

    private void flush() throws InterruptedException {
        try {
            producer.flush();
        } catch (InterruptException e) {
            throw new InterruptedException("interrupted while flushing the Kafka producer");
        }
    }

    private Exception outcome(Pending p, long deadline, Map<String, BrokerProbe.NoMetadata> whyNoMetadata)
            throws InterruptedException {
        try {
            p.result.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            return null;
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (p.notSent) {
                BrokerProbe.NoMetadata why = whyNoMetadata.get(p.topic);
                if (why == null) {
                    why = probe.whyNoMetadata(p.topic);
                    whyNoMetadata.put(p.topic, why);
                    LOG.warn("[{}] Kafka topic {}: no metadata within {} ms (message {} and maybe more): {}", clientId,
                            p.topic, maxBlock.toMillis(), p.message.id(), why.why());
                }
                return DeliveryErrors.noMetadata(p.topic, maxBlock, why);
            }
            return DeliveryErrors.describe(p.topic, cause, deliveryTimeout, bootstrapServers);
        } catch (java.util.concurrent.TimeoutException e) {
            return new KafkaDeliveryException(FailureReason.TIMEOUT, "Kafka topic " + p.topic
                    + ": no confirmation within " + deliveryTimeout.plus(SLACK).toMillis() + " ms; it may still arrive, and will then be delivered again");
        }
    }

    private static Throwable causeOf(CompletableFuture<?> failed) {
        try {
            failed.getNow(null);
            return null;
        } catch (java.util.concurrent.CompletionException e) {
            return e.getCause();
        } catch (java.util.concurrent.CancellationException e) {
            return e;
        }
    }

    private static ProducerRecord<String, String> record(String topic, OutboxMessage message) {
        RecordHeaders headers = new RecordHeaders();
        TransportHeaders.write(message).forEach((name, value) -> headers.add(name, value.getBytes(StandardCharsets.UTF_8)));
        // The send time, not created_at: a record timestamped long ago (a requeued DEAD message, a
        // backlog after an outage) rolls its segment and falls to the topic's time-based retention at
        // once, before a lagging consumer reads it. The write time travels in the created_at header.
        return new ProducerRecord<>(topic, null, null, message.aggregateId(), message.payload(), headers);
    }

    /** The topic {@code message} goes to under this publisher's template. */
    String topicFor(OutboxMessage message) {
        return topics.topicFor(message);
    }

    /** {@code kafka}, for the poller's PRODUCER spans ({@code messaging.system}). */
    @Override
    public String messagingSystem() {
        return "kafka";
    }

    /** {@code send}, Kafka's name for the operation in the messaging semantic conventions. */
    @Override
    public String operationName() {
        return "send";
    }

    /** The topic {@code message} goes to: the span's {@code messaging.destination.name}. */
    @Override
    public String destinationName(OutboxMessage message) {
        return topics.topicFor(message);
    }

    /**
     * Whether the cluster answers (a round trip to it, at most about 2 seconds): for a health check.
     * A publisher that is not connected still accepts batches; their messages then fail with the
     * reason and are retried.
     */
    @Override
    public boolean isConnected() {
        return probe.reachable();
    }

    /**
     * Closes the producer, waiting up to the delivery timeout for records in flight. Messages whose
     * batch had not returned yet count as not delivered and are retried by the poller.
     */
    @Override
    public void close() {
        senders.shutdownNow();
        producer.close(deliveryTimeout);
        probe.close();
        LOG.info("[{}] closed", clientId);
    }

    /** The settings, without the extra client properties (they may hold secrets). */
    @Override
    public String toString() {
        return "KafkaPublisher[bootstrapServers=" + bootstrapServers + ", topicTemplate=" + topics + ", clientId="
                + clientId + ", deliveryTimeout=" + deliveryTimeout.toMillis() + "ms, maxBlock=" + maxBlock.toMillis() + "ms]";
    }

    /** One message on its way: its topic and the producer's answer for it. */
    private static final class Pending {
        final OutboxMessage message;
        final String topic;
        final CompletableFuture<RecordMetadata> result = new CompletableFuture<>();
        /** Never handed over: the producer waited in vain for the topic's metadata. */
        volatile boolean notSent;

        Pending(OutboxMessage message, String topic) {
            this.message = message;
            this.topic = topic;
        }
    }

    /**
     * Builds a {@link KafkaPublisher}; every option has a named default. Not thread-safe; {@link
     * #build()} checks every option and names the one that is wrong.
     */
    public static final class Builder {

        private static final Map<String, String> OWNED = Map.ofEntries(
                Map.entry(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, "give the servers to KafkaPublisher.builder"),
                Map.entry(ProducerConfig.CLIENT_ID_CONFIG, "use clientId(...)"),
                Map.entry(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, "the key is the aggregate id as UTF-8 text"),
                Map.entry(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, "the value is the payload as UTF-8 text"),
                Map.entry(ProducerConfig.ACKS_CONFIG, "a message counts as delivered only with acks=all"),
                Map.entry(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "idempotence keeps order per key through retries"),
                Map.entry(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "it stays 5, the most idempotence allows"),
                Map.entry(ProducerConfig.RETRIES_CONFIG, "the producer retries until the delivery timeout"),
                Map.entry(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "use deliveryTimeout(...)"),
                Map.entry(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "it follows deliveryTimeout(...) (half of it)"),
                Map.entry(ProducerConfig.MAX_BLOCK_MS_CONFIG, "use maxBlock(...)"),
                Map.entry(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "the publisher is not transactional"));

        private final String bootstrapServers;
        private String topicTemplate = DEFAULT_TOPIC_TEMPLATE;
        private String clientId = DEFAULT_CLIENT_ID;
        private Duration deliveryTimeout = DEFAULT_DELIVERY_TIMEOUT;
        private Duration maxBlock = DEFAULT_MAX_BLOCK;
        private final Map<String, Object> extra = new LinkedHashMap<>();

        private Builder(String bootstrapServers) {
            this.bootstrapServers = bootstrapServers == null ? null : bootstrapServers.trim();
        }

        /**
         * The topic of each message: literal text of letters, digits, {@code .}, {@code _} and
         * {@code -}, with the placeholders {@code {aggregate_type}} and {@code {event_type}}.
         * Default {@value #DEFAULT_TOPIC_TEMPLATE}.
         */
        public Builder topicTemplate(String topicTemplate) {
            this.topicTemplate = topicTemplate;
            return this;
        }

        /** The producer's client id (in the broker's logs, metrics and quotas). Default {@value #DEFAULT_CLIENT_ID}. */
        public Builder clientId(String clientId) {
            this.clientId = clientId;
            return this;
        }

        /**
         * How long a record may wait for the broker's confirmation, the producer's retries included
         * (Kafka's {@code delivery.timeout.ms}; {@code request.timeout.ms} is half of it). 1 second
         * to 5 minutes; default 10 seconds. Keep {@code maxBlock + deliveryTimeout} well below the
         * poller's lease.
         */
        public Builder deliveryTimeout(Duration deliveryTimeout) {
            this.deliveryTimeout = deliveryTimeout;
            return this;
        }

        /**
         * How long handing a record over may wait for its topic's metadata or for buffer space
         * (Kafka's {@code max.block.ms}): an unknown topic, or a broker that is down, fails its
         * messages after this. 100 ms to 1 minute; default 5 seconds.
         */
        public Builder maxBlock(Duration maxBlock) {
            this.maxBlock = maxBlock;
            return this;
        }

        /**
         * Passes a property to the Kafka producer (e.g. {@code security.protocol},
         * {@code sasl.jaas.config}, {@code linger.ms}, {@code compression.type}). The properties
         * the guarantees rest on (acks, idempotence, in-flight requests, retries, serializers,
         * timeouts) are refused with the reason. Values are never logged or shown by
         * {@link KafkaPublisher#toString()}.
         */
        public Builder property(String name, Object value) {
            ClientProperties.put(extra, name, value, OWNED);
            return this;
        }

        /**
         * A publisher with these settings, its producer created (it connects on first use).
         *
         * @throws InvalidOptionException naming the option that is wrong and what it may be (an
         *                                {@link IllegalArgumentException} when Kafka's client refuses the
         *                                properties)
         */
        public KafkaPublisher build() {
            String servers = ClientProperties.notBlank("bootstrapServers", bootstrapServers);
            TopicTemplate topics = TopicTemplate.parse(topicTemplate);
            ClientProperties.notBlank("clientId", clientId);
            ClientProperties.within("deliveryTimeout", deliveryTimeout, Duration.ofSeconds(1), Duration.ofMinutes(5));
            ClientProperties.within("maxBlock", maxBlock, Duration.ofMillis(100), Duration.ofMinutes(1));
            Map<String, Object> props = new LinkedHashMap<>(extra);
            props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, servers);
            props.put(ProducerConfig.CLIENT_ID_CONFIG, clientId);
            props.put(ProducerConfig.ACKS_CONFIG, "all");
            props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
            props.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 5);
            props.put(ProducerConfig.RETRIES_CONFIG, Integer.MAX_VALUE);
            props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) deliveryTimeout.toMillis());
            props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) deliveryTimeout.toMillis() / 2);
            props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, maxBlock.toMillis());
            props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
            props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
            KafkaProducer<String, String> producer;
            try {
                producer = new KafkaProducer<>(props);
            } catch (KafkaException e) {
                throw new IllegalArgumentException("cannot create a Kafka producer for bootstrapServers " + servers + ": "
                        + Causes.rootMessage(e), e);
            }
            BrokerProbe probe = new BrokerProbe(ClientProperties.forAdmin(props), PROBE_TIMEOUT);
            KafkaPublisher publisher = new KafkaPublisher(this, topics, producer, probe);
            LOG.info("[{}] created: {}", clientId, publisher);
            return publisher;
        }
    }
}
