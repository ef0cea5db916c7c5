package io.outboxkit.system.faults;

import io.outboxkit.system.TestDatabase;
import io.outboxkit.system.brokers.KafkaBroker;
import io.outboxkit.system.brokers.SystemBroker;
import io.outboxkit.testing.PostgresExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The system and its faults (see {@link ThroughBrokerTest}) through Kafka: the shared test broker (KAFKA_BOOTSTRAP_SERVERS, else a dev-kafka this JVM starts), and for the outage a dev-kafka of the test's own, killed with SIGKILL and restarted on its port and data. */
class ThroughKafkaTest extends ThroughBrokerTest {

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
}
