package io.outboxkit.system;

import io.outboxkit.testing.PostgresExtension;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** order-service, consumer and outbox-relay as three processes on one test database. */
final class RunningSystem implements AutoCloseable {

    final int orderPort = ServiceProcess.freePort();
    final int consumerPort = ServiceProcess.freePort();
    private final PostgresExtension db;
    private final List<ServiceProcess> relays = new ArrayList<>();
    private ServiceProcess orders;
    private ServiceProcess consumer;
    private int relayCount;

    RunningSystem(PostgresExtension db) {
        this.db = db;
    }

    RunningSystem start() {
        consumer = ServiceProcess.start("consumer", "consumer", env(Map.of("PORT", String.valueOf(consumerPort))));
        orders = ServiceProcess.start("order-service", "order-service", env(Map.of("PORT", String.valueOf(orderPort))));
        startRelay();
        consumer.awaitHealthy(consumerUrl("/health"));
        orders.awaitHealthy(orderUrl("/health"));
        return this;
    }

    /** Starts one more relay process and waits until it is healthy. */
    ServiceProcess startRelay() {
        int adminPort = ServiceProcess.freePort();
        String name = "outbox-relay-" + (++relayCount);
        ServiceProcess relay = ServiceProcess.start("outbox-relay", name, env(Map.of(
                "PORT", String.valueOf(adminPort),
                "RELAY_NAME", name,
                "CONSUMER_URL", consumerUrl("/messages"),
                "POLL_INTERVAL_MS", "200",
                "BATCH_SIZE", "50",
                "LEASE_MS", "6000",
                "HTTP_TIMEOUT_MS", "3000",
                "BACKOFF_INITIAL_MS", "100",
                "BACKOFF_MAX_MS", "1000")));
        relays.add(relay);
        return relay.awaitHealthy("http://127.0.0.1:" + adminPort + "/health");
    }

    /** SIGKILL to every relay: claimed messages stay leased until their lease ends. */
    void killAllRelays() throws InterruptedException {
        for (ServiceProcess relay : relays) {
            relay.kill();
        }
    }

    Map<String, String> env(Map<String, String> extra) {
        Map<String, String> env = new HashMap<>(extra);
        env.put("DB_URL", db.jdbcUrl());
        env.put("DB_USER", db.user() == null ? "postgres" : db.user());
        env.put("DB_PASSWORD", db.password() == null ? "" : db.password());
        return env;
    }

    String orderUrl(String path) {
        return "http://127.0.0.1:" + orderPort + path;
    }

    String consumerUrl(String path) {
        return "http://127.0.0.1:" + consumerPort + path;
    }

    @Override
    public void close() throws InterruptedException {
        for (ServiceProcess relay : relays) {
            relay.close();
        }
        if (orders != null) {
            orders.close();
        }
        if (consumer != null) {
            consumer.close();
        }
    }
}
