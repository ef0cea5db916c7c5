package io.outboxkit.system.faults;

import io.outboxkit.system.TestDatabase;
import io.outboxkit.system.brokers.NatsBroker;
import io.outboxkit.system.brokers.SystemBroker;
import io.outboxkit.testing.PostgresExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The system and its faults (see {@link ThroughBrokerTest}) through NATS JetStream: a nats-server
 * of the test's own, killed with SIGKILL and started again on its port and store for the outage;
 * the relay's re-publishes after its crash are dropped by the server (Nats-Msg-Id).
 */
class ThroughNatsTest extends ThroughBrokerTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(TestDatabase::createSchemas, 3);

    @Override
    PostgresExtension db() {
        return db;
    }

    @Override
    SystemBroker sharedBroker() throws Exception {
        return new NatsBroker();
    }

    @Override
    SystemBroker ownBroker() throws Exception {
        return new NatsBroker();
    }
}
