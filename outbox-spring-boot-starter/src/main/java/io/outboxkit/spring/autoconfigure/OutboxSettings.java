package io.outboxkit.spring.autoconfigure;

import io.opentelemetry.api.OpenTelemetry;
import io.outboxkit.core.IdempotentHandler;
import io.outboxkit.core.InvalidOptionException;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.OutboxWriter;
import io.outboxkit.core.OutboxPoller;
import io.outboxkit.core.OutboxRetention;
import io.outboxkit.core.spi.MessagePublisher;
import io.outboxkit.core.spi.OutboxListener;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.jdbi.v3.core.Jdbi;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;

/**
 * {@link OutboxProperties} turned into the library's objects, checked by the library's own rules
 * when this is made: the builders of {@link OutboxPoller} and {@link OutboxRetention} and the
 * constructor of {@link OutboxNames} each name the setting at fault, and that name is mapped here
 * to its property, so no rule is written twice. Immutable.
 */
final class OutboxSettings {

    /** Each library setting a message can name, by the type whose message names it, and its property. */
    private static final Map<String, Map<String, String>> PROPERTIES = Map.of(
            "OutboxPoller", Map.ofEntries(
                    Map.entry("name", "outboxkit.poller.name"),
                    Map.entry("batchSize", "outboxkit.batch-size"),
                    Map.entry("workers", "outboxkit.workers"),
                    Map.entry("claimMode", "outboxkit.claim-mode"),
                    Map.entry("pollInterval", "outboxkit.poll-interval"),
                    Map.entry("lease", "outboxkit.lease"),
                    Map.entry("statementTimeout", "outboxkit.statement-timeout"),
                    Map.entry("maxAttempts", "outboxkit.max-attempts"),
                    Map.entry("initialBackoff", "outboxkit.backoff.initial"),
                    Map.entry("maxBackoff", "outboxkit.backoff.max"),
                    Map.entry("jitter", "outboxkit.backoff.jitter")),
            "OutboxNames", Map.of(
                    "schema", "outboxkit.schema.name",
                    "outboxTable", "outboxkit.schema.outbox-table",
                    "processedTable", "outboxkit.schema.processed-table",
                    "channel", "outboxkit.schema.channel"),
            "OutboxWriter", Map.of(
                    "maxPayloadBytes", "outboxkit.max-payload-bytes",
                    "maxHeaderBytes", "outboxkit.max-header-bytes"),
            "IdempotentHandler", Map.of("idleInTransactionTimeout", "outboxkit.consumer.idle-in-transaction-timeout"),
            "OutboxRetention", Map.of(
                    "publishedRetention", "outboxkit.retention.published",
                    "dedupWindow", "outboxkit.retention.dedup-window"));

    /** The bounds of {@code outboxkit.retention.interval} and {@code outboxkit.health.max-pending-age}. */
    private static final Duration MIN_STARTER_DURATION = Duration.ofMillis(1);
    private static final Duration MAX_STARTER_DURATION = OutboxRetention.MAX_RETENTION;

    /** Never called: the poller built to check the settings is never started. */
    private static final MessagePublisher NOT_STARTED = message -> {
        throw new IllegalStateException("the settings check's poller never delivers");
    };

    /** The consumer name of the handler built to check the consumer's settings, which handles nothing. */
    private static final String SETTINGS_CHECK = "outboxkit-settings-check";

    private final OutboxProperties properties;
    private final Jdbi jdbi;
    private final OutboxNames names;

    private OutboxSettings(OutboxProperties properties, Jdbi jdbi) {
        this.properties = properties;
        this.jdbi = jdbi;
        this.names = checked(() -> new OutboxNames(properties.schema().name(), properties.schema().outboxTable(),
                properties.schema().processedTable(), properties.schema().channel()));
    }

    /**
     * The settings of {@code properties}, every one checked; {@code jdbi} reaches the database they
     * are for (no connection is made here).
     *
     * @throws InvalidConfigurationPropertyValueException naming the first property at fault
     */
    static OutboxSettings check(OutboxProperties properties, Jdbi jdbi) {
        OutboxSettings settings = new OutboxSettings(properties, jdbi);
        settings.poller(NOT_STARTED, settings.names, List.of(), null);
        settings.writer(settings.names);
        settings.retention(settings.names);
        settings.checked(() -> IdempotentHandler.create(jdbi, SETTINGS_CHECK, (handle, message) -> { })
                .withIdleInTransactionTimeout(properties.consumer().idleInTransactionTimeout()));
        // Not library settings: how often the starter runs retention, and the age at which its health
        // check reports DOWN. Checked here for that reason.
        requireStarterDuration("outboxkit.retention.interval", properties.retention().interval());
        requireStarterDuration("outboxkit.health.max-pending-age", properties.health().maxPendingAge());
        return settings;
    }

    /**
     * Compared as Durations: in milliseconds (which the schedule and the health check use) a huge
     * one overflows, and the start would fail with an ArithmeticException that names no property.
     */
    private static void requireStarterDuration(String property, Duration value) {
        if (value == null || value.compareTo(MIN_STARTER_DURATION) < 0 || value.compareTo(MAX_STARTER_DURATION) > 0) {
            throw new InvalidConfigurationPropertyValueException(property, value, property + " must be 1 ms to "
                    + MAX_STARTER_DURATION.toDays() + " days, was " + value);
        }
    }

    /** The Jdbi over the application's DataSource that the poller, retention and admin share. */
    Jdbi jdbi() {
        return jdbi;
    }

    /** The outbox's names, from {@code outboxkit.schema.*}. */
    OutboxNames names() {
        return names;
    }

    /** The properties these settings were made of. */
    OutboxProperties properties() {
        return properties;
    }

    /**
     * The writer for {@code names}, with the payload and header limits applied. The names are a parameter, as in
     * {@link #poller} and {@link #retention}: the application's {@link OutboxNames} bean may replace
     * the properties' ones, and every part of the outbox must then use it.
     */
    OutboxWriter writer(OutboxNames names) {
        return checked(() -> OutboxWriter.builder().names(names).maxPayloadBytes(properties.maxPayloadBytes())
                .maxHeaderBytes(properties.maxHeaderBytes()).build());
    }

    /**
     * A poller of the outbox {@code names} names, with every property applied, delivering through
     * {@code publisher}, telling {@code listeners} and making its spans with {@code openTelemetry}
     * (null: the global one, once installed); not started.
     */
    OutboxPoller poller(MessagePublisher publisher, OutboxNames names, List<OutboxListener> listeners,
                        OpenTelemetry openTelemetry) {
        OutboxProperties p = properties;
        OutboxPoller.Builder builder = OutboxPoller.builder(jdbi, publisher)
                .names(names)
                .batchSize(p.batchSize())
                .workers(p.workers())
                .lease(p.lease())
                .maxAttempts(p.maxAttempts())
                .orderedByAggregate(p.ordered())
                .deadMessagesBlockAggregate(p.deadBlocksAggregate())
                .claimMode(p.claimMode())
                .deleteOnPublish(p.deleteOnPublish())
                .pollInterval(p.pollInterval())
                .statementTimeout(p.statementTimeout())
                .backoff(p.backoff().initial(), p.backoff().max())
                .jitter(p.backoff().jitter());
        if (p.poller().name() != null) {
            builder.name(p.poller().name());
        }
        listeners.forEach(builder::addListener);
        if (openTelemetry != null) {
            builder.openTelemetry(openTelemetry);
        }
        return checked(builder::build);
    }

    /** Retention of the outbox {@code names} names, with every property applied. */
    OutboxRetention retention(OutboxNames names) {
        return checked(() -> OutboxRetention.builder(jdbi)
                .names(names)
                .publishedRetention(properties.retention().published())
                .dedupWindow(properties.retention().dedupWindow())
                .build());
    }

    private <T> T checked(Supplier<T> make) {
        try {
            return make.get();
        } catch (InvalidOptionException e) {
            throw toProperty(e);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("outboxkit: " + e.getMessage(), e);
        }
    }

    /**
     * The library's refusal with each setting it names replaced by its property: "OutboxPoller:
     * batchSize must be 1 to 10000, was 0" becomes "outboxkit.batch-size must be 1 to 10000, was 0".
     */
    private RuntimeException toProperty(InvalidOptionException e) {
        Map<String, String> known = e.builder().map(PROPERTIES::get).orElse(Map.of());
        String property = known.get(e.option());
        if (property == null) {
            return new IllegalStateException("outboxkit: " + e.getMessage(), e);
        }
        InvalidConfigurationPropertyValueException invalid =
                new InvalidConfigurationPropertyValueException(property, values().get(property), e.reasonNaming(known::get));
        invalid.addSuppressed(e); // its constructor sets no cause, and a cause cannot be set after it
        return invalid;
    }

    /** Each property's value, for the report of the one at fault. */
    private Map<String, Object> values() {
        OutboxProperties p = properties;
        Map<String, Object> values = new LinkedHashMap<>();
        values.put("outboxkit.poller.name", p.poller().name());
        values.put("outboxkit.batch-size", p.batchSize());
        values.put("outboxkit.workers", p.workers());
        values.put("outboxkit.claim-mode", p.claimMode());
        values.put("outboxkit.poll-interval", p.pollInterval());
        values.put("outboxkit.lease", p.lease());
        values.put("outboxkit.statement-timeout", p.statementTimeout());
        values.put("outboxkit.max-payload-bytes", p.maxPayloadBytes());
        values.put("outboxkit.max-header-bytes", p.maxHeaderBytes());
        values.put("outboxkit.max-attempts", p.maxAttempts());
        values.put("outboxkit.backoff.initial", p.backoff().initial());
        values.put("outboxkit.backoff.max", p.backoff().max());
        values.put("outboxkit.backoff.jitter", p.backoff().jitter());
        values.put("outboxkit.schema.name", p.schema().name());
        values.put("outboxkit.schema.outbox-table", p.schema().outboxTable());
        values.put("outboxkit.schema.processed-table", p.schema().processedTable());
        values.put("outboxkit.schema.channel", p.schema().channel());
        values.put("outboxkit.retention.published", p.retention().published());
        values.put("outboxkit.retention.dedup-window", p.retention().dedupWindow());
        values.put("outboxkit.consumer.idle-in-transaction-timeout", p.consumer().idleInTransactionTimeout());
        return values;
    }
}
