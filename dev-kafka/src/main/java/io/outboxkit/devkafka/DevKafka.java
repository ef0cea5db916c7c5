package io.outboxkit.devkafka;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;

/**
 * A running development Kafka broker: one process that is both the KRaft controller and the broker
 * (Apache Kafka's own server classes, not an imitation), listening on 127.0.0.1, its log directory
 * formatted on the first start and kept across restarts, so records and the cluster id survive a
 * stop or a kill. Replication factor 1 everywhere: a record the broker acknowledged is in its log
 * (the operating system's page cache), so it survives the process being killed, not the machine
 * losing power. {@link #close()} stops the broker cleanly. Not thread-safe to close from two
 * threads at once.
 */
public final class DevKafka implements AutoCloseable {

    /** The node id of the single node, broker and controller. */
    public static final int NODE_ID = 1;

    private static final Duration STARTUP_WAIT = Duration.ofSeconds(90);
    private static final String META_PROPERTIES = "meta.properties";

    private final KafkaRaftServer server;
    private final DevKafkaSettings settings;
    private final String clusterId;

    private DevKafka(KafkaRaftServer server, DevKafkaSettings settings, String clusterId) {
        this.server = server;
        this.settings = settings;
        this.clusterId = clusterId;
    }

    /**
     * Starts the broker on {@code settings}' port with its data directory (formatted with a new
     * cluster id on the first start only) and returns once a client can connect to it.
     *
     * @throws DevKafkaException when the port is taken or the broker cannot start; its message is
     *                           one line saying why
     */
    public static DevKafka start(DevKafkaSettings settings) {
        requirePortFree(settings.port());
        KafkaConfig config;
        String clusterId;
        try {
            Files.createDirectories(settings.dataDirectory());
            config = KafkaConfig.fromProps(serverProperties(settings, freeLoopbackPort()), false);
            clusterId = formatOnFirstStart(config, settings.dataDirectory());
        } catch (Exception e) {
            throw new DevKafkaException("cannot prepare the data directory " + settings.dataDirectory() + ": "
                    + rootMessage(e), e);
        }
        KafkaRaftServer server = new KafkaRaftServer(config, Time.SYSTEM);
        try {
            server.startup();
            awaitClients(settings);
        } catch (Exception e) {
            stopQuietly(server);
            throw new DevKafkaException("cannot start Kafka on port " + settings.port() + " with data in "
                    + settings.dataDirectory() + ": " + rootMessage(e), e);
        }
        return new DevKafka(server, settings, clusterId);
    }

    /**
     * The broker's configuration: a combined node on loopback, every internal topic with one
     * replica, and thread counts, internal partitions and buffers cut down for a development machine
     * that runs it beside several other JVMs.
     */
    static Properties serverProperties(DevKafkaSettings settings, int controllerPort) {
        Properties p = new Properties();
        p.putAll(Map.ofEntries(
                Map.entry("process.roles", "broker,controller"),
                Map.entry("node.id", Integer.toString(NODE_ID)),
                Map.entry("controller.quorum.voters", NODE_ID + "@127.0.0.1:" + controllerPort),
                Map.entry("listeners", "PLAINTEXT://127.0.0.1:" + settings.port() + ",CONTROLLER://127.0.0.1:" + controllerPort),
                Map.entry("advertised.listeners", "PLAINTEXT://127.0.0.1:" + settings.port()),
                Map.entry("controller.listener.names", "CONTROLLER"),
                Map.entry("inter.broker.listener.name", "PLAINTEXT"),
                Map.entry("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"),
                Map.entry("log.dirs", settings.dataDirectory().toString()),
                Map.entry("auto.create.topics.enable", Boolean.toString(settings.autoCreateTopics())),
                Map.entry("num.partitions", Integer.toString(settings.partitions())),
                Map.entry("default.replication.factor", "1"),
                Map.entry("min.insync.replicas", "1"),
                Map.entry("offsets.topic.replication.factor", "1"),
                Map.entry("offsets.topic.num.partitions", "5"),
                Map.entry("transaction.state.log.replication.factor", "1"),
                Map.entry("transaction.state.log.min.isr", "1"),
                Map.entry("transaction.state.log.num.partitions", "5"),
                Map.entry("share.coordinator.state.topic.replication.factor", "1"),
                Map.entry("share.coordinator.state.topic.min.isr", "1"),
                Map.entry("share.coordinator.state.topic.num.partitions", "1"),
                // A consumer group forms at once instead of waiting for more members.
                Map.entry("group.initial.rebalance.delay.ms", "0"),
                Map.entry("num.network.threads", "2"),
                Map.entry("num.io.threads", "2"),
                Map.entry("background.threads", "2"),
                Map.entry("num.recovery.threads.per.data.dir", "1"),
                // The cleaner's default 128 MiB buffer (for the compacted offsets topic) would be most of a small heap.
                Map.entry("log.cleaner.dedupe.buffer.size", Integer.toString(8 * 1024 * 1024)),
                Map.entry("server.max.startup.time.ms", Long.toString(STARTUP_WAIT.toMillis()))));
        if (!settings.saslUsers().isEmpty()) {
            String admin = settings.saslUsers().keySet().iterator().next();
            p.put("listeners", "SASL_PLAINTEXT://127.0.0.1:" + settings.port() + ",CONTROLLER://127.0.0.1:" + controllerPort);
            p.put("advertised.listeners", "SASL_PLAINTEXT://127.0.0.1:" + settings.port());
            p.put("inter.broker.listener.name", "SASL_PLAINTEXT");
            p.put("listener.security.protocol.map", "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT");
            p.put("sasl.enabled.mechanisms", "PLAIN");
            p.put("sasl.mechanism.inter.broker.protocol", "PLAIN");
            p.put("listener.name.sasl_plaintext.plain.sasl.jaas.config", jaas(settings.saslUsers(), admin));
            p.put("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
            // The node's own requests to its controller come over the PLAINTEXT controller listener, as ANONYMOUS.
            p.put("super.users", "User:" + admin + ";User:ANONYMOUS");
            p.put("allow.everyone.if.no.acl.found", "false");
        }
        return p;
    }

    /** The PLAIN login module's settings: the node logs in as the super user, and knows every user's password. */
    private static String jaas(Map<String, String> users, String admin) {
        StringBuilder jaas = new StringBuilder("org.apache.kafka.common.security.plain.PlainLoginModule required username=\""
                + admin + "\" password=\"" + users.get(admin) + "\"");
        users.forEach((name, password) -> jaas.append(" user_").append(name).append("=\"").append(password).append("\""));
        return jaas.append(';').toString();
    }

    /** The client properties that log in as {@code user} of {@code settings}' SASL users (none without them). */
    public static Map<String, Object> clientSecurity(DevKafkaSettings settings, String user) {
        if (settings.saslUsers().isEmpty()) {
            return Map.of();
        }
        return Map.of("security.protocol", "SASL_PLAINTEXT", "sasl.mechanism", "PLAIN",
                "sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required username=\""
                        + user + "\" password=\"" + settings.saslUsers().get(user) + "\";");
    }

    /** Formats the data directory unless an earlier start did; returns the cluster id it holds. */
    private static String formatOnFirstStart(KafkaConfig config, Path dataDirectory) throws Exception {
        Path meta = dataDirectory.resolve(META_PROPERTIES);
        if (!Files.exists(meta)) {
            new Formatter()
                    .setPrintStream(new PrintStream(OutputStream.nullOutputStream()))
                    .setNodeId(NODE_ID)
                    .setClusterId(Uuid.randomUuid().toString())
                    .setControllerListenerName(config.controllerListenerNames().get(0))
                    .setMetadataLogDirectory(config.metadataLogDir())
                    .setWriteBootstrapSnapshot(true)
                    .addDirectory(dataDirectory.toString())
                    .run();
        }
        Properties properties = new Properties();
        try (InputStream in = Files.newInputStream(meta)) {
            properties.load(in);
        }
        return properties.getProperty("cluster.id");
    }

    /** Returns once a client connected and saw the broker in the cluster's metadata. */
    private static void awaitClients(DevKafkaSettings settings)
            throws ExecutionException, InterruptedException, TimeoutException {
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:" + settings.port());
        if (!settings.saslUsers().isEmpty()) {
            props.putAll(clientSecurity(settings, settings.saslUsers().keySet().iterator().next()));
        }
        props.put(AdminClientConfig.CLIENT_ID_CONFIG, "dev-kafka-ready-check");
        try (Admin admin = Admin.create(props)) {
            long deadline = System.nanoTime() + STARTUP_WAIT.toNanos();
            while (admin.describeCluster(new DescribeClusterOptions().timeoutMs(5_000)).nodes()
                    .get(STARTUP_WAIT.toMillis(), TimeUnit.MILLISECONDS).isEmpty()) {
                if (System.nanoTime() > deadline) {
                    throw new TimeoutException("the broker did not register within " + STARTUP_WAIT);
                }
                Thread.sleep(100); // a retry interval, not a synchronisation
            }
        }
    }

    /** Refuses a port something already listens on, before Kafka fails on it less clearly. */
    static void requirePortFree(int port) {
        try (ServerSocket probe = new ServerSocket()) {
            probe.setReuseAddress(true);
            probe.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        } catch (IOException e) {
            throw new DevKafkaException("port " + port + " is already in use (another Kafka or dev-kafka?); "
                    + "stop it or choose another port with PORT", e);
        }
    }

    /** A port for the controller's listener, which only this process uses; a new one at each start. */
    private static int freeLoopbackPort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    /** The port clients connect to. */
    public int port() {
        return settings.port();
    }

    /** What a client puts in {@code bootstrap.servers}: {@code 127.0.0.1:<port>}. */
    public String bootstrapServers() {
        return "127.0.0.1:" + settings.port();
    }

    /** The cluster id, chosen at the first start and kept in the data directory. */
    public String clusterId() {
        return clusterId;
    }

    /** The settings it was started with. */
    public DevKafkaSettings settings() {
        return settings;
    }

    /** Stops the broker cleanly (its logs flushed and closed, so the next start needs no recovery). */
    @Override
    public void close() {
        server.shutdown();
        server.awaitShutdown();
    }

    private static void stopQuietly(KafkaRaftServer server) {
        try {
            server.shutdown();
            server.awaitShutdown();
        } catch (RuntimeException e) {
            // the failure being reported matters more
        }
    }

    static String rootMessage(Throwable e) {
        Throwable t = e;
        for (int depth = 0; t.getCause() != null && depth < 100; depth++) { // bounded: a chain may be a cycle
            t = t.getCause();
        }
        String message = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        return message.replaceAll("\\s*\\R\\s*", " ").trim();
    }
}
