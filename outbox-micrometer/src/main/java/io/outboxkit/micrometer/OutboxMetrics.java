package io.outboxkit.micrometer;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.OutboxMonitor;
import io.outboxkit.core.OutboxSnapshot;
import io.outboxkit.core.spi.FailureReason;
import io.outboxkit.core.spi.OutboxListener;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/**
 * outbox-core's figures as Micrometer meters: an {@link OutboxListener} (give it to the poller's
 * {@code addListener} and the handler's {@code withListener}) and a {@link MeterBinder} (bind it to
 * the application's registry once, before the events it should count). Names are dotted here;
 * the Prometheus registry writes them as in this table.
 *
 * <table>
 *   <caption>Meters</caption>
 *   <tr><th>Prometheus name</th><th>type</th><th>labels</th></tr>
 *   <tr><td>{@code outbox_messages}</td><td>gauge</td><td>{@code status}: pending, published (an estimate), dead</td></tr>
 *   <tr><td>{@code outbox_oldest_pending_age_seconds}</td><td>gauge</td><td></td></tr>
 *   <tr><td>{@code outbox_delivered_total}</td><td>counter</td><td></td></tr>
 *   <tr><td>{@code outbox_delivery_failures_total}</td><td>counter</td><td>{@code reason}: timeout, refused, unavailable</td></tr>
 *   <tr><td>{@code outbox_dead_total}</td><td>counter</td><td></td></tr>
 *   <tr><td>{@code outbox_delivery_latency_seconds}</td><td>histogram</td><td></td></tr>
 *   <tr><td>{@code outbox_claim_duration_seconds}</td><td>histogram</td><td></td></tr>
 *   <tr><td>{@code outbox_batch_size}</td><td>histogram</td><td></td></tr>
 *   <tr><td>{@code outbox_poll_errors_total}</td><td>counter</td><td></td></tr>
 *   <tr><td>{@code outbox_consumer_messages_total}</td><td>counter</td><td>{@code consumer}, {@code outcome}: processed, duplicate, failed</td></tr>
 *   <tr><td>{@code outbox_consumer_lag_seconds}</td><td>histogram</td><td>{@code consumer}</td></tr>
 * </table>
 *
 * <p>The two gauges exist only when made {@link #withMonitor with a monitor}; they read its cached
 * snapshot (the database at most once a second, however often they are scraped), and are NaN while
 * the database cannot be read. No label takes a value per message: the consumer's name is
 * configuration. Thread-safe; events before {@link #bindTo} are not counted.
 *
 * <p>A binding {@link #withMonitor with a monitor} registers the poller's meters
 * ({@code outbox_delivered_total} to {@code outbox_poll_errors_total}) at once; one made with
 * {@link #create()} registers them at the first poller event it hears, so a consumer service that
 * binds one serves only its {@code outbox_consumer_*} meters, not an always-zero copy of a poller's.
 * A consumer's meters are registered at that consumer's first message.
 *
 * <p>One registry holds the meters of one outbox as they are; an application with several outboxes
 * gives each its own {@link #withOutboxLabel label}, which every meter then carries as
 * {@code outbox}. A second binding with a monitor, unlabelled or with a label already bound, is
 * refused rather than merged: Micrometer would silently keep the first one's gauges. Bindings
 * without a monitor (a consumer's events) share the registry's meters, as Micrometer does.
 */
public final class OutboxMetrics implements OutboxListener, MeterBinder {

    /** The delivery latency's and the consumer lag's histogram buckets, 1 ms to 30 minutes. */
    static final Duration[] LATENCY_BUCKETS = millis(1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000,
            30_000, 60_000, 300_000, 1_800_000);
    /** The claim's histogram buckets, 0.5 ms to 5 s. */
    static final Duration[] CLAIM_BUCKETS = new Duration[] {Duration.ofNanos(500_000), Duration.ofMillis(1),
        Duration.ofMillis(2), Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50),
        Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(1_000), Duration.ofMillis(5_000)};
    /** The batch size's histogram buckets, 1 to 10,000 messages (the largest batch). */
    static final double[] BATCH_BUCKETS = {1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000};

    /** The label that tells the meters of several outboxes in one registry apart. */
    static final String OUTBOX_LABEL = "outbox";
    /** The gauge every binding with a monitor registers, by which a second one of an outbox is found. */
    private static final String GAUGE_MARK = "outbox.messages";

    private final OutboxMonitor monitor;
    private final Tags tags;
    private volatile MeterRegistry registry;
    private volatile Meters meters;
    private final Map<String, ConsumerMeters> consumers = new ConcurrentHashMap<>();

    private OutboxMetrics(OutboxMonitor monitor, Tags tags) {
        this.monitor = monitor;
        this.tags = tags;
    }

    /**
     * Meters of the events only (what a consumer service needs): no gauges, and the poller's meters
     * only once a poller tells this of a claim, delivery, failure or poll error.
     */
    public static OutboxMetrics create() {
        return new OutboxMetrics(null, Tags.empty());
    }

    /** Meters of the events, and the gauges {@code outbox_messages} and {@code outbox_oldest_pending_age_seconds} read from {@code monitor}. */
    public static OutboxMetrics withMonitor(OutboxMonitor monitor) {
        return new OutboxMetrics(Objects.requireNonNull(monitor, "monitor"), Tags.empty());
    }

    /**
     * These meters, each labelled {@code outbox="<outbox>"}: for an application that binds the
     * metrics of several outboxes to one registry, each with a label of its own (its name, say
     * {@code "orders"} and {@code "billing"}). Give every outbox in that registry a label: Prometheus
     * wants one set of labels per metric name.
     *
     * @throws IllegalArgumentException when {@code outbox} is blank
     * @throws IllegalStateException    when these metrics are bound already
     */
    public OutboxMetrics withOutboxLabel(String outbox) {
        Objects.requireNonNull(outbox, "outbox");
        if (outbox.isBlank()) {
            throw new IllegalArgumentException("the outbox label must not be blank");
        }
        if (registry != null) {
            throw new IllegalStateException("label OutboxMetrics before binding it to a registry");
        }
        return new OutboxMetrics(monitor, Tags.of(OUTBOX_LABEL, outbox));
    }

    /**
     * Registers the meters in {@code registry}.
     *
     * @throws IllegalStateException when already bound (a second registry: give it a metrics of its
     *                               own), or when this has a monitor and the registry holds another
     *                               one's gauges with the same outbox label or with none (one per
     *                               outbox: {@link #withOutboxLabel})
     */
    @Override
    public synchronized void bindTo(MeterRegistry registry) {
        Objects.requireNonNull(registry, "registry");
        if (this.registry != null) {
            throw new IllegalStateException("OutboxMetrics is bound to a registry already");
        }
        refuseAnotherBindingOfTheSameOutbox(registry);
        if (monitor != null) {
            for (String status : new String[] {"pending", "published", "dead"}) {
                ToDoubleFunction<OutboxMonitor> figure = switch (status) {
                    case "pending" -> m -> read(m, OutboxSnapshot::pending);
                    case "published" -> m -> read(m, OutboxSnapshot::publishedEstimate);
                    default -> m -> read(m, OutboxSnapshot::dead);
                };
                Gauge.builder(GAUGE_MARK, monitor, figure).tags(tags).tag("status", status).strongReference(true)
                        .description("Outbox rows by status: pending and dead counted, published estimated from PostgreSQL's statistics")
                        .register(registry);
            }
            Gauge.builder("outbox.oldest.pending.age", monitor, m -> read(m, OutboxSnapshot::oldestPendingAgeSeconds))
                    .tags(tags).baseUnit("seconds").strongReference(true)
                    .description("How long the oldest pending message has been waiting since it was written; 0 when none is pending")
                    .register(registry);
            meters = new Meters(registry, tags); // the relay's: its counters are there before its first event
        }
        this.registry = registry;
    }

    /**
     * The poller's meters, registered at the first poller event when this has no monitor: a
     * consumer service never hears one, and would otherwise serve a poller's meters at 0.
     */
    private Meters poller() {
        Meters m = meters;
        if (m != null || registry == null) {
            return m;
        }
        synchronized (this) {
            if (meters == null) {
                meters = new Meters(registry, tags);
            }
            return meters;
        }
    }

    /**
     * Micrometer hands a second registration of a meter id the first one's meter, so a second
     * outbox's gauges would read the first outbox: refuse it instead. Bindings without gauges (a
     * consumer's events, each labelled with its consumer) may share a registry as before.
     */
    private void refuseAnotherBindingOfTheSameOutbox(MeterRegistry registry) {
        if (monitor == null) {
            return;
        }
        String label = tags.stream().findFirst().map(Tag::getValue).orElse(null);
        for (Meter bound : registry.find(GAUGE_MARK).meters()) {
            String boundLabel = bound.getId().getTag(OUTBOX_LABEL);
            if (label == null || boundLabel == null || label.equals(boundLabel)) {
                throw new IllegalStateException("this registry holds the gauges of another outbox's OutboxMetrics"
                        + (boundLabel == null ? "" : " labelled outbox=\"" + boundLabel + "\"")
                        + "; one registry takes one OutboxMetrics with a monitor per outbox, each with a label of its own "
                        + "when there are several: OutboxMetrics.withMonitor(monitor).withOutboxLabel(\"billing\")");
            }
        }
    }

    private static double read(OutboxMonitor monitor, ToDoubleFunction<OutboxSnapshot> figure) {
        try {
            return figure.applyAsDouble(monitor.snapshot());
        } catch (RuntimeException e) {
            return Double.NaN; // the database cannot be read: no figure rather than a wrong one
        }
    }

    @Override
    public void claimed(int messages, Duration duration) {
        Meters m = poller();
        if (m != null) {
            m.claimDuration.record(duration);
            m.batchSize.record(messages);
        }
    }

    @Override
    public void delivered(OutboxMessage message, Duration latency) {
        Meters m = poller();
        if (m != null) {
            m.delivered.increment();
            m.latency.record(latency.isNegative() ? Duration.ZERO : latency);
        }
    }

    /** As {@link #delivered} for each message, with one counter increment and no object made per message. */
    @Override
    public void deliveredBatch(List<OutboxMessage> messages, Instant confirmed) {
        Meters m = poller();
        if (m == null) {
            return;
        }
        m.delivered.increment(messages.size());
        long confirmedSecond = confirmed.getEpochSecond();
        int confirmedNano = confirmed.getNano();
        for (OutboxMessage message : messages) {
            Instant created = message.createdAt();
            long nanos = (confirmedSecond - created.getEpochSecond()) * 1_000_000_000L + (confirmedNano - created.getNano());
            m.latency.record(Math.max(0, nanos), TimeUnit.NANOSECONDS);
        }
    }

    @Override
    public void failed(OutboxMessage message, FailureReason reason, Exception error) {
        Meters m = poller();
        if (m != null) {
            m.failures.get(reason).increment();
        }
    }

    @Override
    public void dead(OutboxMessage message) {
        Meters m = poller();
        if (m != null) {
            m.dead.increment();
        }
    }

    @Override
    public void pollFailed(Exception error) {
        Meters m = poller();
        if (m != null) {
            m.pollErrors.increment();
        }
    }

    @Override
    public void processed(String consumer, OutboxMessage message, Duration lag) {
        ConsumerMeters c = consumer(consumer);
        if (c != null) {
            c.processed.increment();
            c.lag.record(lag.isNegative() ? Duration.ZERO : lag);
        }
    }

    @Override
    public void duplicate(String consumer, OutboxMessage message) {
        ConsumerMeters c = consumer(consumer);
        if (c != null) {
            c.duplicate.increment();
        }
    }

    @Override
    public void handlingFailed(String consumer, OutboxMessage message, Exception error) {
        ConsumerMeters c = consumer(consumer);
        if (c != null) {
            c.failed.increment();
        }
    }

    private ConsumerMeters consumer(String consumer) {
        MeterRegistry r = registry;
        return r == null ? null : consumers.computeIfAbsent(consumer, name -> new ConsumerMeters(r, tags, name));
    }

    /** The poller's meters in one registry. */
    private static final class Meters {
        final Counter delivered;
        final Counter dead;
        final Counter pollErrors;
        final Map<FailureReason, Counter> failures = new EnumMap<>(FailureReason.class);
        final Timer latency;
        final Timer claimDuration;
        final DistributionSummary batchSize;

        Meters(MeterRegistry registry, Tags tags) {
            delivered = Counter.builder("outbox.delivered").tags(tags).description("Messages delivered and recorded as such")
                    .register(registry);
            dead = Counter.builder("outbox.dead").tags(tags).description("Messages that failed their last attempt and went DEAD")
                    .register(registry);
            pollErrors = Counter.builder("outbox.poll.errors").tags(tags)
                    .description("Poll cycles that failed on the database (retried after the poll interval; after a conflict with another transaction, at once)").register(registry);
            for (FailureReason reason : FailureReason.values()) {
                failures.put(reason, Counter.builder("outbox.delivery.failures").tags(tags).tag("reason", reason.label())
                        .description("Failed delivery attempts, by why: timeout, refused, unavailable").register(registry));
            }
            latency = Timer.builder("outbox.delivery.latency").tags(tags)
                    .description("From a message's write to the sink's confirmation of its delivery")
                    .serviceLevelObjectives(LATENCY_BUCKETS).register(registry);
            claimDuration = Timer.builder("outbox.claim.duration").tags(tags).description("How long a claim of a batch took")
                    .serviceLevelObjectives(CLAIM_BUCKETS).register(registry);
            batchSize = DistributionSummary.builder("outbox.batch.size").tags(tags).description("Messages per claimed batch")
                    .serviceLevelObjectives(BATCH_BUCKETS).register(registry);
        }
    }

    /** One consumer's meters. */
    private static final class ConsumerMeters {
        final Counter processed;
        final Counter duplicate;
        final Counter failed;
        final Timer lag;

        ConsumerMeters(MeterRegistry registry, Tags tags, String consumer) {
            processed = outcome(registry, tags, consumer, "processed");
            duplicate = outcome(registry, tags, consumer, "duplicate");
            failed = outcome(registry, tags, consumer, "failed");
            lag = Timer.builder("outbox.consumer.lag").tags(tags).tag("consumer", consumer)
                    .description("From a message's write to the commit of its effect at the consumer")
                    .serviceLevelObjectives(LATENCY_BUCKETS).register(registry);
        }

        private static Counter outcome(MeterRegistry registry, Tags tags, String consumer, String outcome) {
            return Counter.builder("outbox.consumer.messages").tags(tags).tag("consumer", consumer).tag("outcome", outcome)
                    .description("Messages a consumer handled, by outcome: processed, duplicate (skipped), failed")
                    .register(registry);
        }
    }

    private static Duration[] millis(long... values) {
        Duration[] durations = new Duration[values.length];
        for (int i = 0; i < values.length; i++) {
            durations[i] = Duration.ofMillis(values[i]);
        }
        return durations;
    }
}
