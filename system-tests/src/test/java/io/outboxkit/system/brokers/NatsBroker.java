package io.outboxkit.system.brokers;

import io.outboxkit.testing.PrivateNatsServer;
import java.util.Map;

/**
 * NATS JetStream for a system test: a nats-server of the test's own ({@link PrivateNatsServer}),
 * since going down kills it; a stream and a durable consumer named for the test. Down means the
 * server killed (SIGKILL); back means started again on the same port and store.
 */
public final class NatsBroker implements SystemBroker {

    private final PrivateNatsServer server = PrivateNatsServer.launch();
    private final String stream = SystemBroker.uniqueName("SYSTEST_").toUpperCase(java.util.Locale.ROOT);
    private final String consumer = SystemBroker.uniqueName("systest-");

    @Override
    public String kind() {
        return "nats";
    }

    @Override
    public Map<String, String> relayEnv() {
        return Map.of("SINK", kind(), "NATS_URL", server.url(), "NATS_STREAM", stream);
    }

    @Override
    public Map<String, String> consumerEnv() {
        return Map.of("SOURCE", kind(), "NATS_URL", server.url(), "NATS_STREAM", stream, "CONSUMER_NAME", consumer);
    }

    @Override
    public void goDown() throws InterruptedException {
        server.kill();
    }

    @Override
    public void comeBack() {
        server.start();
    }

    @Override
    public boolean dropsRepublished() {
        return true;
    }

    @Override
    public void close() throws Exception {
        server.close();
    }

    @Override
    public String toString() {
        return "NATS at " + server.url() + " stream " + stream + " consumer " + consumer;
    }
}
