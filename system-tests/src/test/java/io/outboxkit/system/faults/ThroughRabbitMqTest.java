package io.outboxkit.system.faults;

import io.outboxkit.system.TestDatabase;
import io.outboxkit.system.brokers.RabbitMqBroker;
import io.outboxkit.system.brokers.SystemBroker;
import io.outboxkit.testing.PostgresExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The system and its faults (see {@link ThroughBrokerTest}) through RabbitMQ: the machine's shared
 * broker through a TCP proxy the test owns, whose connections the outage cuts.
 */
class ThroughRabbitMqTest extends ThroughBrokerTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(TestDatabase::createSchemas, 3);

    @Override
    PostgresExtension db() {
        return db;
    }

    @Override
    SystemBroker sharedBroker() throws Exception {
        return new RabbitMqBroker();
    }

    @Override
    SystemBroker ownBroker() throws Exception {
        return new RabbitMqBroker();
    }
}
