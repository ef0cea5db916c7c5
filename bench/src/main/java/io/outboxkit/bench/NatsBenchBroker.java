package io.outboxkit.bench;

import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.api.PublishAck;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.impl.Headers;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A NATS server of the bench's own ({@code nats-server -js}, {@code NATS_SERVER} or
 * {@code /usr/sbin/nats-server}) on a free port, its JetStream store in {@code bench/target/nats}:
 * the machine's own may hold other streams, and other work that would move the figures.
 * Its ceiling is a jnats loop of asynchronous JetStream publishes (at most {@value #WINDOW}
 * unacknowledged), each with its {@code Nats-Msg-Id} as the relay's, into the same file stream.
 */
final class NatsBenchBroker implements BenchBroker {

    private static final String STREAM = "BENCH_OUTBOX";
    private static final int WINDOW = 1_000;

    private final Process server;
    private final Path store;
    private final String url;
    private final Connection connection;

    private NatsBenchBroker(Process server, Path store, String url, Connection connection) {
        this.server = server;
        this.store = store;
        this.url = url;
        this.connection = connection;
    }

    /** Starts the server and connects once it answers. */
    static NatsBenchBroker start(Path target) throws Exception {
        String binary = System.getenv().getOrDefault("NATS_SERVER", "/usr/sbin/nats-server");
        Path store = target.resolve("nats");
        KafkaBenchBroker.deleteTree(store);
        Files.createDirectories(target.resolve("logs"));
        int port = KafkaBenchBroker.freePort();
        Process server = new ProcessBuilder(binary, "-js", "-a", "127.0.0.1", "-p", Integer.toString(port), "-sd",
                store.toString()).redirectErrorStream(true)
                .redirectOutput(target.resolve("logs").resolve("nats-server.log").toFile()).start();
        String url = "nats://127.0.0.1:" + port;
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            try {
                return new NatsBenchBroker(server, store, url, Nats.connect(url));
            } catch (IOException e) {
                if (!server.isAlive() || System.nanoTime() > deadline) {
                    server.destroyForcibly();
                    throw new IOException("nats-server did not start (see bench/target/logs/nats-server.log)", e);
                }
                Thread.sleep(100); // the server is not listening yet
            }
        }
    }

    @Override
    public String name() {
        return "nats";
    }

    @Override
    public Map<String, String> env() {
        return Map.of("SINK", "nats", "SOURCE", "nats", "NATS_URL", url, "NATS_STREAM", STREAM,
                "CONSUMER_NAME", CONSUMER_NAME);
    }

    @Override
    public Map<String, String> aloneEnv() {
        return Map.of("SINK", "nats", "NATS_URL", url, "NATS_STREAM", STREAM);
    }

    @Override
    public String ceilingName() {
        return "jnats async JetStream publish, acks (" + WINDOW + " in flight), file stream";
    }

    @Override
    public double ceiling(int records, int size) throws Exception {
        JetStreamManagement jsm = connection.jetStreamManagement();
        if (!jsm.getStreamNames().contains(STREAM)) {
            jsm.addStream(StreamConfiguration.builder().name(STREAM).subjects("outbox.>").storageType(StorageType.File)
                    .build());
        }
        JetStream js = connection.jetStream();
        byte[] body = new byte[size];
        java.util.Arrays.fill(body, (byte) 'x');
        ArrayDeque<CompletableFuture<PublishAck>> inFlight = new ArrayDeque<>();
        long start = System.nanoTime();
        for (int i = 0; i < records; i++) {
            if (inFlight.size() >= WINDOW) {
                inFlight.poll().get(1, TimeUnit.MINUTES);
            }
            Headers headers = new Headers().put("Nats-Msg-Id", UUID.randomUUID().toString());
            inFlight.add(js.publishAsync("outbox.Order.OrderCreated", headers, body));
        }
        for (CompletableFuture<PublishAck> ack : inFlight) {
            ack.get(1, TimeUnit.MINUTES);
        }
        double rate = records / ((System.nanoTime() - start) / 1e9);
        jsm.purgeStream(STREAM);
        return rate;
    }

    @Override
    public void clearAlone() throws Exception {
        // The stream takes every outbox subject, so the consumer created next would read the relay alone's messages.
        connection.jetStreamManagement().purgeStream(STREAM);
    }

    @Override
    public void close() throws Exception {
        try {
            connection.close();
        } finally {
            server.destroy();
            if (!server.waitFor(20, TimeUnit.SECONDS)) {
                server.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
            KafkaBenchBroker.deleteTree(store);
        }
    }
}
