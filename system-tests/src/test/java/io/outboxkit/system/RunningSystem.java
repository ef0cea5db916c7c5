package io.outboxkit.system;

import io.outboxkit.testing.FreePorts;
import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * order-service, consumer and one or more outbox-relays as separate processes on one database.
 *
 * <p>Every process can be killed, stopped, paused and started again on the same port (a restarted
 * relay keeps its name). {@link #close()} stops every process still running, whatever state the
 * test left them in. Not thread-safe: one test drives it.
 */
public final class RunningSystem implements AutoCloseable {

    /** The relay settings unless a test overrides them: short, so a test waits seconds, not minutes. */
    public static final Map<String, String> DEFAULT_RELAY_ENV = Map.of(
            "POLL_INTERVAL_MS", "200",
            "BATCH_SIZE", "50",
            "LEASE_MS", "6000",
            "HTTP_TIMEOUT_MS", "3000",
            "BACKOFF_INITIAL_MS", "100",
            "BACKOFF_MAX_MS", "1000");

    /** The consumer's own default {@code CONSUMER_NAME}. */
    public static final String DEFAULT_CONSUMER_NAME = "loyalty";

    /** How long a graceful stop may take before the tests call it a hang. */
    public static final Duration STOP_LIMIT = Duration.ofSeconds(10);

    final int orderPort = FreePorts.pick();
    final int consumerPort = FreePorts.pick();
    private final TestDatabase db;
    private final String label;
    private final Map<String, String> relayEnv = new HashMap<>(DEFAULT_RELAY_ENV);
    /** Small pools: the shared test server has 100 connections for every test run at once. */
    private final Map<String, String> serviceEnv = new HashMap<>(Map.of("DB_POOL_SIZE", "6"));
    private final Map<String, String> consumerEnv = new HashMap<>();
    private final List<RelayProcess> relays = new ArrayList<>();
    private final List<ServiceProcess> retired = new ArrayList<>();
    /** Every consumer process started, the earliest first. */
    private final List<ServiceProcess> consumers = new ArrayList<>();
    private ServiceProcess orders;
    private int relayCount;

    /** A system on a class's database of the shared test server. */
    public RunningSystem(PostgresExtension db) {
        this(TestDatabase.of(db), "");
    }

    /** A system on {@code db}; {@code label} prefixes its log files (e.g. the test class). */
    public RunningSystem(TestDatabase db, String label) {
        this.db = db;
        this.label = label.isEmpty() ? "" : label + "-";
    }

    /** Overrides relay settings for the relays started from now on. */
    public RunningSystem withRelayEnv(Map<String, String> overrides) {
        relayEnv.putAll(overrides);
        return this;
    }

    /** Adds settings for order-service and consumer (e.g. {@code DB_POOL_SIZE}). */
    public RunningSystem withServiceEnv(Map<String, String> extra) {
        serviceEnv.putAll(extra);
        return this;
    }

    /**
     * Adds settings for the consumer alone (e.g. {@code SOURCE} and its broker's, {@code
     * CONSUMER_NAME}); they win over {@link #withServiceEnv(Map)}.
     */
    public RunningSystem withConsumerEnv(Map<String, String> extra) {
        consumerEnv.putAll(extra);
        return this;
    }

    /** {@code CONSUMER_NAME} of the consumer: the name its processed messages are recorded under. */
    public String consumerName() {
        return consumerEnv.getOrDefault("CONSUMER_NAME", serviceEnv.getOrDefault("CONSUMER_NAME", DEFAULT_CONSUMER_NAME));
    }

    /** Starts the consumer, the order service and one relay, and waits until all are healthy. */
    public RunningSystem start() {
        return start(1);
    }

    /** Starts the consumer, the order service and {@code relayCount} relays at once, then waits until all are healthy. */
    public RunningSystem start(int relayCount) {
        try {
            ServiceProcess consumer = launchConsumer();
            orders = launchOrders();
            List<RelayProcess> started = new ArrayList<>();
            for (int i = 0; i < relayCount; i++) {
                started.add(launchRelay());
            }
            consumer.awaitHealthy(consumerUrl("/health"));
            orders.awaitHealthy(orderUrl("/health"));
            started.forEach(r -> r.process().awaitHealthy(r.adminUrl("/health")));
            return this;
        } catch (RuntimeException e) {
            closeQuietly(e); // a test whose start failed has no system to close: leave nothing running
            throw e;
        }
    }

    private void closeQuietly(RuntimeException failure) {
        try {
            close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            failure.addSuppressed(e);
        } catch (RuntimeException e) {
            failure.addSuppressed(e);
        }
    }

    // --- relays ---------------------------------------------------------------------------------

    /** Starts one more relay process and waits until it is healthy. */
    public RelayProcess startRelay() {
        RelayProcess relay = launchRelay();
        relay.process().awaitHealthy(relay.adminUrl("/health"));
        return relay;
    }

    private RelayProcess launchRelay() {
        int adminPort = FreePorts.pick();
        String name = "outbox-relay-" + (++relayCount);
        Map<String, String> env = new HashMap<>(relayEnv);
        env.put("PORT", String.valueOf(adminPort));
        env.put("RELAY_NAME", name);
        env.put("CONSUMER_URL", consumerUrl("/messages"));
        return launchRelay(name, adminPort, env);
    }

    private RelayProcess launchRelay(String name, int adminPort, Map<String, String> env) {
        RelayProcess relay = new RelayProcess(name, adminPort, env,
                ServiceProcess.start("outbox-relay", label + name, env(env)));
        relays.add(relay);
        return relay;
    }

    /**
     * Starts {@code dead} again (it must have exited): same name, admin port and settings, as a
     * supervisor would. Waits until it is healthy.
     */
    public RelayProcess restartRelay(RelayProcess dead) {
        if (dead.process().isAlive()) {
            throw new IllegalStateException(dead + " is still running");
        }
        relays.remove(dead);
        retired.add(dead.process());
        RelayProcess relay = launchRelay(dead.name(), dead.adminPort(), dead.env());
        relay.process().awaitHealthy(relay.adminUrl("/health"));
        return relay;
    }

    /** The relays started and not yet replaced by a restart (some may have been killed). */
    public List<RelayProcess> relays() {
        return List.copyOf(relays);
    }

    /** The relays whose process is running. */
    public List<RelayProcess> liveRelays() {
        return relays.stream().filter(r -> r.process().isAlive()).toList();
    }

    /** SIGKILL to every relay: claimed messages stay leased until their lease ends. */
    public void killAllRelays() throws InterruptedException {
        for (RelayProcess relay : relays) {
            relay.process().kill();
        }
    }

    // --- consumer and order service ------------------------------------------------------------

    /** The consumer process (the latest one, after a restart). */
    public ServiceProcess consumer() {
        return consumers.get(consumers.size() - 1);
    }

    /** Every consumer process this system started, the earliest first (a restart leaves the one before). */
    public List<ServiceProcess> consumers() {
        return List.copyOf(consumers);
    }

    /** The order-service process (the latest one, after a restart). */
    public ServiceProcess orders() {
        return orders;
    }

    /** Starts the consumer again on its port (the previous process must have exited); waits until healthy. */
    public ServiceProcess restartConsumer() {
        requireExited(consumer());
        return launchConsumer().awaitHealthy(consumerUrl("/health"));
    }

    /** Starts the order service again on its port (the previous process must have exited); waits until healthy. */
    public ServiceProcess restartOrders() {
        requireExited(orders);
        retired.add(orders);
        orders = launchOrders().awaitHealthy(orderUrl("/health"));
        return orders;
    }

    private static void requireExited(ServiceProcess process) {
        if (process.isAlive()) {
            throw new IllegalStateException(process.name() + " is still running");
        }
    }

    private ServiceProcess launchConsumer() {
        Map<String, String> env = new HashMap<>(serviceEnv);
        env.putAll(consumerEnv);
        env.put("PORT", String.valueOf(consumerPort));
        ServiceProcess started = ServiceProcess.start("consumer", label + "consumer", env(env));
        consumers.add(started);
        return started;
    }

    private ServiceProcess launchOrders() {
        Map<String, String> env = new HashMap<>(serviceEnv);
        env.put("PORT", String.valueOf(orderPort));
        return ServiceProcess.start("order-service", label + "order-service", env(env));
    }

    // --- where things are -----------------------------------------------------------------------

    /** {@code extra} plus the database settings: the environment of a process on this system's database. */
    public Map<String, String> env(Map<String, String> extra) {
        Map<String, String> env = new HashMap<>(extra);
        env.put("DB_URL", db.url());
        env.put("DB_USER", db.user());
        env.put("DB_PASSWORD", db.password());
        return env;
    }

    /** The database. */
    public TestDatabase database() {
        return db;
    }

    /** {@code http://127.0.0.1:<order-service port><path>}; the port survives a restart. */
    public String orderUrl(String path) {
        return "http://127.0.0.1:" + orderPort + path;
    }

    /** {@code http://127.0.0.1:<consumer port><path>}; the port survives a restart. */
    public String consumerUrl(String path) {
        return "http://127.0.0.1:" + consumerPort + path;
    }

    /** Stops every process still running (relays first), SIGKILL for any that ignores SIGTERM for 10 s. */
    @Override
    public void close() throws InterruptedException {
        List<ServiceProcess> all = new ArrayList<>();
        relays.forEach(r -> all.add(r.process()));
        if (orders != null) {
            all.add(orders);
        }
        all.addAll(consumers);
        all.addAll(retired);
        List<ServiceProcess> running = all.stream().filter(ServiceProcess::isAlive).toList();
        running.forEach(ServiceProcess::requestStop); // all at once: stopping is bounded by the slowest, not the sum
        for (ServiceProcess process : running) {
            if (!process.awaitExit(STOP_LIMIT)) {
                process.kill();
            }
        }
    }
}
