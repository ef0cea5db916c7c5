package io.outboxkit.system.faults;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.outboxkit.system.TestDatabase;
import io.outboxkit.system.brokers.KafkaBroker;
import io.outboxkit.system.brokers.SystemBroker;
import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The system and its faults (see {@link ThroughBrokerTest}) through Kafka: the shared test broker
 * (KAFKA_BOOTSTRAP_SERVERS, else a dev-kafka this JVM starts), and for the outage a dev-kafka of
 * the test's own, killed with SIGKILL and restarted on its port and data. The plain stream is also
 * read back with Kafka's own consumer.
 */
class ThroughKafkaTest extends ThroughBrokerTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(TestDatabase::createSchemas, 3);

    @Override
    PostgresExtension db() {
        return db;
    }

    @Override
    SystemBroker sharedBroker() throws Exception {
        return KafkaBroker.shared();
    }

    @Override
    SystemBroker ownBroker() throws Exception {
        return KafkaBroker.own();
    }

    /**
     * Kafka's own consumer reads each outbox message once, as Debezium's outbox event router would
     * have written it: key = aggregate id, value = the payload, header {@code id} = the message id;
     * and each aggregate's messages in one partition, in the order they were written.
     */
    @Override
    void checkForeignReader(TestDatabase db, SystemBroker broker) throws Exception {
        Map<String, Row> rows = new HashMap<>();
        db.jdbi().useHandle(h -> h.createQuery("SELECT id, aggregate_id, seq, payload::text AS payload FROM outbox")
                .map((rs, ctx) -> new Row(rs.getString("id"), rs.getString("aggregate_id"), rs.getLong("seq"),
                        rs.getString("payload")))
                .forEach(r -> rows.put(r.id(), r)));
        List<KafkaBroker.Read> read = ((KafkaBroker) broker).readAll(rows.size(), Duration.ofSeconds(30));

        assertThat(read).extracting(KafkaBroker.Read::id).as("the header id of every record: each outbox message once")
                .containsExactlyInAnyOrderElementsOf(rows.keySet());
        Map<String, List<KafkaBroker.Read>> byKey = new HashMap<>();
        for (KafkaBroker.Read record : read) {
            Row row = rows.get(record.id());
            assertThat(record.key()).as("key of %s", record.id()).isEqualTo(row.aggregateId());
            assertThat(JSON.readTree(record.value())).as("value of %s", record.id()).isEqualTo(JSON.readTree(row.payload()));
            byKey.computeIfAbsent(record.key(), k -> new ArrayList<>()).add(record);
        }
        byKey.forEach((key, records) -> {
            assertThat(records).extracting(KafkaBroker.Read::partition).as("partitions of aggregate %s", key)
                    .containsOnly(records.get(0).partition());
            List<Long> seqInOffsetOrder = records.stream().sorted(Comparator.comparingLong(KafkaBroker.Read::offset))
                    .map(r -> rows.get(r.id()).seq()).toList();
            assertThat(seqInOffsetOrder).as("aggregate %s: write order along the partition", key).isSorted();
        });
    }

    private record Row(String id, String aggregateId, long seq, String payload) {
    }
}
