package io.outboxkit.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.outboxkit.core.ClaimMode;
import io.outboxkit.core.NewMessage;
import io.outboxkit.core.OutboxAdmin;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.OutboxPoller;
import io.outboxkit.core.OutboxRetention;
import io.outboxkit.core.OutboxWriter;
import io.outboxkit.core.PollerSettings;
import io.outboxkit.core.spi.MessagePublisher;
import io.outboxkit.core.spi.OutboxListener;
import io.outboxkit.spring.autoconfigure.OutboxProperties;
import io.outboxkit.testing.DatabaseSetup;
import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.transaction.autoconfigure.TransactionAutoConfiguration;
import org.springframework.core.NestedExceptionUtils;
import org.springframework.transaction.support.TransactionTemplate;

@ExtendWith(OutputCaptureExtension.class)
class OutboxAutoConfigurationTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(DatabaseSetup.EMPTY);

    private static final MessagePublisher IGNORING = message -> { };

    @Test
    void the_context_starts_with_only_a_data_source_and_has_every_bean_and_the_tables() {
        Contexts.on(db).run(context -> {
            assertThat(context).hasNotFailed()
                    .hasSingleBean(OutboxNames.class)
                    .hasSingleBean(OutboxWriter.class)
                    .hasSingleBean(SpringOutboxWriter.class)
                    .hasSingleBean(OutboxAdmin.class)
                    .hasSingleBean(IdempotentHandlers.class)
                    .hasSingleBean(OutboxProperties.class);
            assertThat(context.getBean(OutboxNames.class)).isEqualTo(OutboxNames.DEFAULT);
            assertThat(context.getBean(OutboxAdmin.class).counts().pending()).isZero();
            assertThat(tableExists("outbox_schema_history")).isTrue();
        });
    }

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource(delimiter = '|', value = {
            "outboxkit.batch-size         | 0    | outboxkit.batch-size must be 1 to 10000, was 0",
            "outboxkit.workers            | 65   | outboxkit.workers must be 1 to 64, was 65",
            "outboxkit.max-attempts       | 0    | outboxkit.max-attempts must be at least 1, was 0",
            "outboxkit.lease              | 0s   | outboxkit.lease must be at least 1 ms, was PT0S",
            "outboxkit.backoff.initial    | 10m  | outboxkit.backoff.max (PT5M) must not be less than outboxkit.backoff.initial (PT10M)",
            "outboxkit.backoff.jitter     | 1.5  | outboxkit.backoff.jitter must be 0 to 1, was 1.5",
            "outboxkit.max-payload-bytes  | 0    | outboxkit.max-payload-bytes must be 1 to 268435456, was 0",
            "outboxkit.max-header-bytes   | -1   | outboxkit.max-header-bytes must be 0 to 268435456, was -1",
            "outboxkit.schema.outbox-table| Out  | outboxkit.schema.outbox-table must be a lowercase SQL identifier",
            "outboxkit.schema.name        | pg_x | outboxkit.schema.name must not start with pg_",
            "outboxkit.retention.published| -1s  | outboxkit.retention.published must be zero to 36500 days, was PT-1S",
            "outboxkit.retention.interval | 0s   | outboxkit.retention.interval must be 1 ms to 36500 days, was PT0S",
            "outboxkit.retention.interval | 99999999999999d | outboxkit.retention.interval must be 1 ms to 36500 days, was PT2399999999999976H",
            "outboxkit.health.max-pending-age | 0s | outboxkit.health.max-pending-age must be 1 ms to 36500 days, was PT0S",
            "outboxkit.consumer.idle-in-transaction-timeout | -1s | outboxkit.consumer.idle-in-transaction-timeout must be 0 (the server's setting) or 1 to 2147483647 ms, was PT-1S",
            "outboxkit.health.max-pending-age | 99999999999999d | outboxkit.health.max-pending-age must be 1 ms to 36500 days, was PT2399999999999976H"})
    void a_property_out_of_range_fails_the_start_with_a_message_naming_it(String property, String value, String message) {
        Contexts.on(db).withPropertyValues(property + "=" + value).run(context -> {
            assertThat(context).hasFailed();
            Throwable cause = NestedExceptionUtils.getMostSpecificCause(context.getStartupFailure());
            assertThat(cause).isInstanceOf(InvalidConfigurationPropertyValueException.class);
            assertThat(cause.getMessage()).contains(message);
        });
    }

    @Test
    void the_property_defaults_are_the_librarys_defaults() {
        Contexts.on(db).withBean(MessagePublisher.class, () -> IGNORING).run(context -> {
            PollerSettings settings = context.getBean(OutboxPoller.class).settings();
            assertThat(settings.batchSize()).isEqualTo(OutboxPoller.DEFAULT_BATCH_SIZE);
            assertThat(settings.workers()).isEqualTo(OutboxPoller.DEFAULT_WORKERS);
            assertThat(settings.lease()).isEqualTo(OutboxPoller.DEFAULT_LEASE);
            assertThat(settings.maxAttempts()).isEqualTo(OutboxPoller.DEFAULT_MAX_ATTEMPTS);
            assertThat(settings.pollInterval()).isEqualTo(OutboxPoller.DEFAULT_POLL_INTERVAL);
            assertThat(settings.statementTimeout()).isEqualTo(OutboxPoller.DEFAULT_STATEMENT_TIMEOUT);
            assertThat(settings.initialBackoff()).isEqualTo(OutboxPoller.DEFAULT_INITIAL_BACKOFF);
            assertThat(settings.maxBackoff()).isEqualTo(OutboxPoller.DEFAULT_MAX_BACKOFF);
            assertThat(settings.jitter()).isEqualTo(OutboxPoller.DEFAULT_JITTER);
            assertThat(settings.claimMode()).isEqualTo(ClaimMode.LEASE);
            assertThat(settings.orderedByAggregate()).isTrue();
            assertThat(settings.deadMessagesBlockAggregate()).isTrue();
            assertThat(settings.deleteOnPublish()).isFalse();
            assertThat(context.getBean(OutboxWriter.class).maxPayloadBytes()).isEqualTo(OutboxWriter.DEFAULT_MAX_PAYLOAD_BYTES);
            assertThat(context.getBean(OutboxWriter.class).maxHeaderBytes()).isEqualTo(OutboxWriter.DEFAULT_MAX_HEADER_BYTES);
            OutboxProperties.Retention retention = context.getBean(OutboxProperties.class).retention();
            assertThat(retention.published()).isEqualTo(OutboxRetention.DEFAULT_PUBLISHED_RETENTION);
            assertThat(retention.dedupWindow()).isEqualTo(OutboxRetention.DEFAULT_DEDUP_WINDOW);
        });
    }

    @Test
    void the_poller_is_built_from_the_properties_and_runs_while_the_context_does() {
        Contexts.on(db).withBean(MessagePublisher.class, () -> IGNORING)
                .withPropertyValues("outboxkit.batch-size=7", "outboxkit.workers=2", "outboxkit.claim-mode=lock",
                        "outboxkit.lease=45s", "outboxkit.max-attempts=3", "outboxkit.ordered=false",
                        "outboxkit.delete-on-publish=true", "outboxkit.poll-interval=250ms",
                        "outboxkit.statement-timeout=5s", "outboxkit.backoff.initial=2s", "outboxkit.backoff.max=1m",
                        "outboxkit.backoff.jitter=0", "outboxkit.poller.name=orders-poller",
                        "outboxkit.max-payload-bytes=2048", "outboxkit.max-header-bytes=512")
                .run(context -> {
                    assertThat(context.getBean(OutboxWriter.class).maxPayloadBytes()).isEqualTo(2048);
                    assertThat(context.getBean(OutboxWriter.class).maxHeaderBytes()).isEqualTo(512);
                    OutboxPoller poller = context.getBean(OutboxPoller.class);
                    PollerSettings settings = poller.settings();
                    assertThat(settings).isEqualTo(new PollerSettings("orders-poller", OutboxNames.DEFAULT, 7, 2,
                            ClaimMode.LOCK, true, Duration.ofMillis(250), Duration.ofSeconds(45), Duration.ofSeconds(5),
                            3, Duration.ofSeconds(2), Duration.ofMinutes(1), 0, false, true));
                    assertThat(poller.isRunning()).isTrue();
                    context.close();
                    assertThat(poller.isRunning()).isFalse();
                });
    }

    @Test
    void a_context_stopped_and_started_again_stops_and_starts_its_poller() {
        Contexts.on(db).withBean(MessagePublisher.class, () -> IGNORING).run(context -> {
            OutboxPoller poller = context.getBean(OutboxPoller.class);

            context.stop();
            assertThat(poller.isRunning()).isFalse();
            context.start();

            assertThat(poller.isRunning()).isTrue();
        });
    }

    @Test
    void a_context_stopped_after_a_worker_of_its_poller_ended_stops_the_pollers_other_threads_and_starts_it_again() {
        OutboxListener fatal = new OutboxListener() {
            @Override
            public void claimed(int messages, Duration duration) {
                throw new OutOfMemoryError("thrown by the test"); // what no cycle survives: it ends the worker
            }

            @Override
            public void pollFailed(Exception error) {
                throw new OutOfMemoryError("thrown by the test");
            }
        };
        Contexts.on(db).withBean(MessagePublisher.class, () -> IGNORING).withBean(OutboxListener.class, () -> fatal)
                .withPropertyValues("outboxkit.workers=2", "outboxkit.poller.name=ending-worker")
                .run(context -> {
                    OutboxPoller poller = context.getBean(OutboxPoller.class);
                    db.jdbi().useTransaction(h -> OutboxWriter.create().write(h, NewMessage.of("Order", "o-1", "OrderCreated", "{}")));
                    await("the worker that claimed it ended").atMost(Duration.ofSeconds(10)).until(() -> !poller.isRunning());
                    assertThat(pollerThreads("ending-worker")).isNotEmpty(); // the other worker, the LISTEN thread

                    context.stop();
                    assertThat(pollerThreads("ending-worker")).isEmpty();

                    context.start();
                    assertThat(poller.isRunning()).isTrue();
                });
    }

    private static List<String> pollerThreads(String poller) {
        return Thread.getAllStackTraces().keySet().stream().map(Thread::getName)
                .filter(name -> name.startsWith("outbox-poll-" + poller) || name.equals("outbox-listen-" + poller)).toList();
    }

    @Test
    void without_a_publisher_bean_no_poller_runs_and_one_info_line_says_so(CapturedOutput output) {
        Contexts.on(db).run(context -> {
            assertThat(context).hasNotFailed().doesNotHaveBean(OutboxPoller.class);
            assertThat(output).containsOnlyOnce("no MessagePublisher bean, so no poller runs in this application");
        });
    }

    @Test
    void poller_enabled_without_a_publisher_bean_fails_the_start_saying_what_to_do() {
        Contexts.on(db).withPropertyValues("outboxkit.poller.enabled=true").run(context -> {
            assertThat(context).hasFailed();
            assertThat(NestedExceptionUtils.getMostSpecificCause(context.getStartupFailure()))
                    .hasMessageContaining("outboxkit.poller.enabled=true, but the application has no MessagePublisher bean")
                    .hasMessageContaining("outboxkit.poller.enabled=false");
        });
    }

    @Test
    void poller_disabled_runs_no_poller_even_with_a_publisher_bean(CapturedOutput output) {
        Contexts.on(db).withBean(MessagePublisher.class, () -> IGNORING)
                .withPropertyValues("outboxkit.poller.enabled=false").run(context -> {
                    assertThat(context).hasNotFailed().doesNotHaveBean(OutboxPoller.class);
                    assertThat(output).doesNotContain("no MessagePublisher bean");
                });
    }

    /** Spring binds on, yes and 1 as true: the starter's conditions read them as it binds them. */
    @ParameterizedTest(name = "outboxkit.poller.enabled={0}")
    @ValueSource(strings = {"on", "yes", "1", "TRUE"})
    void poller_enabled_spelt_as_spring_binds_true_runs_the_poller(String value) {
        Contexts.on(db).withBean(MessagePublisher.class, () -> IGNORING)
                .withPropertyValues("outboxkit.poller.enabled=" + value)
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context.getBean(OutboxProperties.class).poller().enabled()).isTrue();
                    assertThat(context.getBean(OutboxPoller.class).isRunning()).isTrue();
                });
    }

    @ParameterizedTest(name = "outboxkit.poller.enabled={0}")
    @ValueSource(strings = {"off", "no", "0"})
    void poller_enabled_spelt_as_spring_binds_false_runs_no_poller(String value) {
        Contexts.on(db).withBean(MessagePublisher.class, () -> IGNORING)
                .withPropertyValues("outboxkit.poller.enabled=" + value)
                .run(context -> assertThat(context).hasNotFailed().doesNotHaveBean(OutboxPoller.class));
    }

    @ParameterizedTest(name = "outboxkit.retention.enabled={0}")
    @ValueSource(strings = {"on", "yes", "1"})
    void retention_enabled_spelt_as_spring_binds_true_runs_retention(String value) {
        Contexts.on(db).withPropertyValues("outboxkit.poller.enabled=false", "outboxkit.retention.enabled=" + value)
                .run(context -> {
                    assertThat(context.getBean(OutboxProperties.class).retention().enabled()).isTrue();
                    assertThat(context).hasBean("outboxRetentionSchedule");
                });
    }

    @ParameterizedTest(name = "{0}=maybe")
    @ValueSource(strings = {"outboxkit.poller.enabled", "outboxkit.retention.enabled", "outboxkit.schema.manage"})
    void a_switch_that_is_neither_true_nor_false_fails_the_start_naming_it(String property) {
        Contexts.on(db).withPropertyValues(property + "=maybe").run(context -> {
            assertThat(context).hasFailed();
            assertThat(context.getStartupFailure()).hasStackTraceContaining(property);
        });
    }

    @Test
    void a_bean_of_the_application_replaces_the_starters() {
        SpringOutboxWriter own = new SpringOutboxWriter() {
            @Override
            public java.util.UUID write(io.outboxkit.core.NewMessage message) {
                throw new UnsupportedOperationException();
            }

            @Override
            public java.util.List<java.util.UUID> writeAll(java.util.List<io.outboxkit.core.NewMessage> messages) {
                throw new UnsupportedOperationException();
            }
        };
        OutboxNames names = OutboxNames.inSchema("replaced");
        Contexts.on(db).withBean(SpringOutboxWriter.class, () -> own).withBean(OutboxNames.class, () -> names)
                .withPropertyValues("outboxkit.schema.manage=false")
                .run(context -> {
                    assertThat(context.getBean(SpringOutboxWriter.class)).isSameAs(own);
                    assertThat(context.getBean(OutboxNames.class)).isSameAs(names);
                });
    }

    /** The starter's Javadoc: every bean may be replaced; the others then use the application's. */
    @Test
    void an_outbox_names_bean_of_the_application_is_the_one_the_writer_the_poller_and_retention_use() {
        List<OutboxMessage> received = new CopyOnWriteArrayList<>();
        Contexts.on(db, DataSourceTransactionManagerAutoConfiguration.class, TransactionAutoConfiguration.class)
                .withBean(OutboxNames.class, () -> OutboxNames.inSchema("own_names"))
                .withBean(MessagePublisher.class, () -> received::add)
                .withPropertyValues("outboxkit.retention.enabled=true", "outboxkit.retention.published=1h",
                        "outboxkit.retention.interval=100ms")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    UUID id = context.getBean(TransactionTemplate.class).execute(status -> context.getBean(SpringOutboxWriter.class)
                            .write(NewMessage.of("Order", "o-1", "OrderCreated", "{}")));
                    assertThat(statusIn("own_names.outbox", id)).as("written to the application's outbox").isNotNull();

                    await().atMost(Duration.ofSeconds(10)).until(() -> "PUBLISHED".equals(statusIn("own_names.outbox", id)));
                    assertThat(received).extracting(OutboxMessage::id).containsExactly(id);

                    db.jdbi().useHandle(h -> h.execute(
                            "UPDATE own_names.outbox SET published_at = now() - interval '2 hours' WHERE id = ?", id));
                    await("retention deletes it").atMost(Duration.ofSeconds(10)).until(() -> statusIn("own_names.outbox", id) == null);
                });
    }

    private static String statusIn(String outbox, UUID id) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT status FROM " + outbox + " WHERE id = :id")
                .bind("id", id).mapTo(String.class).findOne().orElse(null));
    }

    @Test
    void the_names_come_from_the_schema_properties_and_the_tables_are_made_with_them() {
        Contexts.on(db).withPropertyValues("outboxkit.schema.name=messaging", "outboxkit.schema.outbox-table=events",
                        "outboxkit.schema.processed-table=handled", "outboxkit.schema.channel=events_ready")
                .run(context -> {
                    assertThat(context.getBean(OutboxNames.class))
                            .isEqualTo(new OutboxNames("messaging", "events", "handled", "events_ready"));
                    assertThat(tableExists("messaging.events")).isTrue();
                    assertThat(tableExists("messaging.handled")).isTrue();
                    assertThat(tableExists("messaging.events_schema_history")).isTrue();
                });
    }

    @Test
    void schema_manage_false_leaves_the_tables_to_the_application() {
        Contexts.on(db).withPropertyValues("outboxkit.schema.manage=false", "outboxkit.schema.name=unmanaged")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(tableExists("unmanaged.outbox")).isFalse();
                });
    }

    private static boolean tableExists(String name) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT to_regclass(:name) IS NOT NULL")
                .bind("name", name).mapTo(Boolean.class).one());
    }
}
