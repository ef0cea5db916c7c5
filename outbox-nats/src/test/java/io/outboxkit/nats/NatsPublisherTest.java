package io.outboxkit.nats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.api.StreamInfo;
import io.outboxkit.core.OutboxAdmin;
import io.outboxkit.core.OutboxException;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.spi.FailureReason;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The publisher's contract, against the machine's NATS, each test on a stream of its own. */
class NatsPublisherTest {

    private final TestNats nats = TestNats.shared();

    @AfterEach
    void cleanUp() throws Exception {
        nats.close();
    }

    @Test
    void a_confirmed_batch_is_stored_in_the_stream_once_per_message() throws Exception {
        List<OutboxMessage> batch = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            batch.add(TestNats.message("order-" + i));
        }
        try (NatsPublisher publisher = nats.publisher().build()) {
            assertThat(publisher.publishAll(batch)).isEmpty();
        }
        assertThat(nats.storedMessages()).isEqualTo(50);
    }

    @Test
    void a_closed_publisher_refuses_batches_saying_it_is_closed_and_that_it_is_not_connected() throws Exception {
        // As the Kafka and RabbitMQ publishers do: a closed publisher never reconnects, so it must not fail each message
        // with an error saying it does (the operator would wait while every message's attempts run out).
        NatsPublisher publisher = nats.publisher().build();
        publisher.close();

        assertThat(publisher.isConnected()).isFalse();
        assertThatThrownBy(() -> publisher.publishAll(List.of(TestNats.message("order-closed"))))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("is closed")
                .hasMessageNotContaining("reconnects");
        publisher.close(); // again: nothing
    }

    @Test
    void a_connection_closing_between_the_status_check_and_the_publish_fails_the_message_as_unavailable()
            throws Exception {
        Connection real = nats.plainConnection();
        JetStream realJetStream = real.jetStream();
        // The one seam: the connection closes right as publishAsync is called, after publishAll saw it CONNECTED.
        JetStream closingFirst = (JetStream) Proxy.newProxyInstance(JetStream.class.getClassLoader(),
                new Class<?>[] {JetStream.class}, (proxy, method, args) -> {
                    if (method.getName().equals("publishAsync")) {
                        real.close();
                    }
                    return delegate(realJetStream, method, args);
                });
        Connection connection = (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(),
                new Class<?>[] {Connection.class}, (proxy, method, args) ->
                        method.getName().equals("jetStream") ? closingFirst : delegate(real, method, args));
        NatsPublisher publisher = new NatsPublisher(nats.publisher(), NatsServers.parse("servers", TestNats.SHARED_URL),
                connection, Duration.ofMinutes(2));
        OutboxMessage message = TestNats.message("order-closing");

        Map<UUID, Exception> failures = publisher.publishAll(List.of(message));

        assertThat(failures).containsOnlyKeys(message.id());
        assertThat(FailureReason.of(failures.get(message.id()))).as("reason of \"%s\"", failures.get(message.id()).getMessage())
                .isEqualTo(FailureReason.UNAVAILABLE);
        assertThat(failures.get(message.id())).hasMessageContaining("the connection is CLOSED");
    }

    private static Object delegate(Object target, Method method, Object[] args) throws Throwable {
        try {
            return method.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    @Test
    void an_absent_stream_is_created_with_file_storage_its_subjects_and_the_duplicate_window() throws Exception {
        try (NatsPublisher publisher = nats.publisher().duplicateWindow(Duration.ofMinutes(3)).build()) {
            assertThat(publisher.duplicateWindow()).isEqualTo(Duration.ofMinutes(3));
        }
        StreamConfiguration config = nats.management().getStreamInfo(nats.stream).getConfiguration();
        assertThat(config.getStorageType()).isEqualTo(StorageType.File);
        assertThat(config.getSubjects()).containsExactly(nats.subjectPrefix + ".>");
        assertThat(config.getDuplicateWindow()).isEqualTo(Duration.ofMinutes(3));
    }

    @Test
    void an_existing_stream_with_other_subjects_is_refused_with_an_error_naming_them() throws Exception {
        nats.management().addStream(StreamConfiguration.builder().name(nats.stream).subjects("other-" + nats.suffix + ".>")
                .storageType(StorageType.Memory).build());
        assertThatThrownBy(() -> nats.publisher().build())
                .isInstanceOf(OutboxException.class)
                .hasMessageContaining("NATS stream " + nats.stream + " exists with subjects [other-" + nats.suffix + ".>]")
                .hasMessageContaining("do not cover " + nats.subjectPrefix + ".>");
    }

    @Test
    void an_existing_stream_keeps_its_own_duplicate_window_and_the_publisher_reports_it() throws Exception {
        nats.management().addStream(StreamConfiguration.builder().name(nats.stream).subjects(nats.subjectPrefix + ".>")
                .storageType(StorageType.Memory).duplicateWindow(Duration.ofSeconds(30)).build());
        try (NatsPublisher publisher = nats.publisher().build()) {
            assertThat(publisher.duplicateWindow()).isEqualTo(Duration.ofSeconds(30));
        }
    }

    @Test
    void a_message_published_again_within_the_duplicate_window_is_stored_once_and_counts_as_delivered() throws Exception {
        OutboxMessage message = TestNats.message("order-1");
        try (NatsPublisher publisher = nats.publisher().build()) {
            assertThat(publisher.publishAll(List.of(message))).isEmpty();
            assertThat(publisher.publishAll(List.of(message, TestNats.message("order-2")))).isEmpty();
        }
        assertThat(nats.storedMessages()).isEqualTo(2);
    }

    @Test
    void an_operators_requeue_within_the_duplicate_window_is_stored_and_its_own_republish_is_not() throws Exception {
        OutboxMessage first = TestNats.message("order-1");
        OutboxMessage requeued = requeued(first, "2026-12-07T09:33:19.123456Z");
        OutboxMessage requeuedAgain = requeued(first, "2026-12-07T09:34:02.000001Z");
        try (NatsPublisher publisher = nats.publisher().build()) {
            assertThat(publisher.publishAll(List.of(first))).isEmpty();
            assertThat(publisher.publishAll(List.of(requeued))).isEmpty();
            assertThat(publisher.publishAll(List.of(requeued))).as("a relay's retry of the requeue's publish").isEmpty();
            assertThat(publisher.publishAll(List.of(requeuedAgain))).isEmpty();
        }
        assertThat(nats.stored()).extracting(OutboxMessage::id).containsExactly(first.id(), first.id(), first.id());
        assertThat(nats.stored().get(1).headers())
                .containsEntry(OutboxAdmin.REQUEUED_AT_HEADER, "2026-12-07T09:33:19.123456Z");
    }

    private static OutboxMessage requeued(OutboxMessage message, String at) {
        return new OutboxMessage(message.id(), message.sequence(), message.aggregateType(), message.aggregateId(),
                message.eventType(), message.payload(), Map.of(OutboxAdmin.REQUEUED_AT_HEADER, at),
                message.createdAt(), 1);
    }

    @Test
    void a_message_over_the_servers_max_payload_fails_alone_and_the_rest_of_its_batch_is_delivered() throws Exception {
        OutboxMessage huge = TestNats.message("Order", "order-big", "OrderCreated",
                "{\"blob\":\"" + "x".repeat(2 * 1024 * 1024) + "\"}", Map.of());
        List<OutboxMessage> batch = List.of(TestNats.message("order-1"), huge, TestNats.message("order-2"));
        try (NatsPublisher publisher = nats.publisher().build()) {
            Map<UUID, Exception> failures = publisher.publishAll(batch);
            assertThat(failures).containsOnlyKeys(huge.id());
            assertThat(failures.get(huge.id())).hasMessageContaining("over the NATS server's max_payload of");
        }
        assertThat(nats.storedMessages()).isEqualTo(2);
    }

    @Test
    void a_message_the_stream_refuses_fails_alone_with_the_streams_reason() throws Exception {
        nats.management().addStream(StreamConfiguration.builder().name(nats.stream).subjects(nats.subjectPrefix + ".>")
                .storageType(StorageType.Memory).maximumMessageSize(2048).build());
        OutboxMessage big = TestNats.message("Order", "order-big", "OrderCreated",
                "{\"blob\":\"" + "x".repeat(4096) + "\"}", Map.of());
        List<OutboxMessage> batch = List.of(TestNats.message("order-1"), big, TestNats.message("order-2"));
        try (NatsPublisher publisher = nats.publisher().build()) {
            Map<UUID, Exception> failures = publisher.publishAll(batch);
            assertThat(failures).containsOnlyKeys(big.id());
            assertThat(failures.get(big.id()))
                    .hasMessageStartingWith("NATS stream " + nats.stream + " refused the message: ")
                    .hasMessageContaining("message size exceeds maximum allowed");
        }
        assertThat(nats.storedMessages()).isEqualTo(2);
    }

    @Test
    void a_header_nats_cannot_carry_fails_that_message_alone_naming_the_header() throws Exception {
        OutboxMessage accented = TestNats.message("Order", "order-9", "OrderCreated", "{}", Map.of("city", "Zürich"));
        OutboxMessage reserved = TestNats.message("Order", "order-8", "OrderCreated", "{}", Map.of("Nats-Rollup", "all"));
        try (NatsPublisher publisher = nats.publisher().build()) {
            Map<UUID, Exception> failures = publisher.publishAll(List.of(accented, TestNats.message("order-1"), reserved));
            assertThat(failures).containsOnlyKeys(accented.id(), reserved.id());
            assertThat(failures.get(accented.id())).hasMessageContaining("header city cannot travel on NATS")
                    .hasMessageContaining("non-ASCII character 'ü'");
            assertThat(failures.get(reserved.id())).hasMessageContaining("header Nats-Rollup")
                    .hasMessageContaining("the NATS server's own");
        }
        assertThat(nats.storedMessages()).isEqualTo(1);
    }

    /**
     * NATS trims a header value, and the aggregate id travels as one: the receiver would see another
     * value. The repair names the table as the relay does, here without a schema: run from psql on
     * another search_path it would update nothing, so the error says where to run it.
     */
    @Test
    void a_header_value_beginning_or_ending_with_whitespace_fails_that_message_alone_naming_the_header() throws Exception {
        OutboxMessage paddedId = TestNats.message("Order", " order-1 ", "OrderCreated", "{}", Map.of());
        OutboxMessage leading = TestNats.message("Order", "order-2", "OrderCreated", "{}", Map.of("note", "\tindented"));
        OutboxMessage trailing = TestNats.message("Order", "order-3", "OrderCreated", "{}", Map.of("note", "x  "));
        OutboxMessage inner = TestNats.message("Order", "order-4", "OrderCreated", "{}", Map.of("note", "a\tb  c", "empty", ""));
        try (NatsPublisher publisher = nats.publisher().build()) {
            Map<UUID, Exception> failures = publisher.publishAll(List.of(paddedId, leading, inner, trailing));
            assertThat(failures).containsOnlyKeys(paddedId.id(), leading.id(), trailing.id());
            assertThat(failures.get(paddedId.id())).hasMessage("not published: header aggregate_id cannot travel on "
                    + "NATS: its value begins with whitespace or a control character, which NATS strips (it trims "
                    + "header values): write the value without it; a message already stored is repaired in its "
                    + "outbox row (UPDATE \"outbox\" SET aggregate_id = regexp_replace(aggregate_id, '^[\\x01-\\x20]+|[\\x01-\\x20]+$', "
                    + "'', 'g') WHERE id = '"
                    + paddedId.id() + "'), then requeued if DEAD, running the statement in a session on the relay's "
                    + "database whose search_path finds the relay's outbox, since it names no schema");
            assertThat(Pattern.compile("outbox row \\((UPDATE .*)\\), then requeued")
                    .matcher(failures.get(paddedId.id()).getMessage()).find())
                    .as("the statement, extractable as the relay's and the starter's tests take it").isTrue();
            assertThat(failures.get(leading.id())).hasMessageContaining("UPDATE \"outbox\" SET headers = jsonb_set("
                    + "headers, ARRAY['note'], to_jsonb(regexp_replace(headers ->> 'note', '^[\\x01-\\x20]+|[\\x01-\\x20]+$', '', "
                    + "'g'))) WHERE id = '"
                    + leading.id() + "'");
            assertThat(failures.get(leading.id())).hasMessageContaining("header note cannot travel on NATS: its value "
                    + "begins with whitespace");
            assertThat(failures.get(trailing.id())).hasMessageContaining("header note cannot travel on NATS: its value "
                    + "ends with whitespace");
        }
        assertThat(nats.storedMessages()).isEqualTo(1);
    }

    /** The statement must reach the row where it is: an outbox with its own schema and table is named so. */
    @Test
    void the_repair_statement_names_the_outbox_the_publisher_was_given() throws Exception {
        OutboxMessage paddedId = TestNats.message("Order", "order-1 ", "OrderCreated", "{}", Map.of());
        OutboxNames billing = OutboxNames.inSchema("billing").withOutboxTable("billing_outbox");
        try (NatsPublisher publisher = nats.publisher().outbox(billing).build()) {
            assertThat(publisher.publishAll(List.of(paddedId)).get(paddedId.id()))
                    .hasMessageContaining("repaired in its outbox row (UPDATE \"billing\".\"billing_outbox\" SET aggregate_id = ")
                    .hasMessageContaining("WHERE id = '" + paddedId.id() + "'), then requeued if DEAD");
        }
    }

    @Test
    void a_stored_trace_context_nats_cannot_carry_is_left_out_and_the_message_goes() {
        OutboxMessage traced = TestNats.message("Order", "order-7", "OrderCreated", "{}",
                Map.of("traceparent", "00-\u00e9\u00e9-\u00e9-01", "tracestate", "=,=,\u00e9", "tenant", "acme"));

        io.nats.client.impl.Headers headers = NatsHeaders.of(traced, OutboxNames.DEFAULT);

        assertThat(headers.get("traceparent")).isNull();
        assertThat(headers.get("tracestate")).isNull();
        assertThat(headers.getFirst("tenant")).isEqualTo("acme");
        assertThat(headers.getFirst("id")).isEqualTo(traced.id().toString());
    }

    @Test
    void a_deleted_stream_fails_each_message_with_an_error_saying_no_stream_takes_it() throws Exception {
        try (NatsPublisher publisher = nats.publisher().publishTimeout(Duration.ofSeconds(3)).build()) {
            nats.management().deleteStream(nats.stream);
            OutboxMessage message = TestNats.message("order-1");
            Map<UUID, Exception> failures = publisher.publishAll(List.of(message));
            assertThat(failures.get(message.id())).hasMessageContaining("no NATS stream takes the message's subject")
                    .hasMessageContaining("was stream " + nats.stream + " deleted?");
        }
    }

    @Test
    void a_type_with_dots_wildcards_or_spaces_stays_one_subject_token() throws Exception {
        OutboxMessage odd = TestNats.message("shop.Order", "order-1", "Order Created>*%", "{}", Map.of());
        try (NatsPublisher publisher = nats.publisher().build()) {
            assertThat(publisher.subjectOf(odd))
                    .isEqualTo(nats.subjectPrefix + ".shop%2EOrder.Order%20Created%3E%2A%25");
            assertThat(publisher.subjectOf(TestNats.message("order-2"))).isEqualTo(nats.subjectPrefix + ".Order.OrderCreated");
            assertThat(publisher.publishAll(List.of(odd))).isEmpty();
        }
        JetStreamManagement jsm = nats.management();
        StreamInfo info = jsm.getStreamInfo(nats.stream);
        assertThat(info.getStreamState().getMsgCount()).isEqualTo(1);
        assertThat(jsm.getMessage(nats.stream, 1).getSubject())
                .isEqualTo(nats.subjectPrefix + ".shop%2EOrder.Order%20Created%3E%2A%25");
    }
}
