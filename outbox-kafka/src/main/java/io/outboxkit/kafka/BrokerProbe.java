package io.outboxkit.kafka;

import io.outboxkit.core.spi.FailureReason;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/**
 * Answers what a producer or consumer cannot say by itself: whether the broker answers at all (for
 * a health check), and why a topic's metadata did not arrive (missing topic, or broker away).
 * Thread-safe; every call bounded by {@code timeout}.
 */
final class BrokerProbe implements AutoCloseable {

    private final Admin admin;
    private final Duration timeout;
    private final String bootstrapServers;

    BrokerProbe(Map<String, Object> adminProperties, Duration timeout) {
        this.admin = Admin.create(adminProperties);
        this.timeout = timeout;
        this.bootstrapServers = String.valueOf(adminProperties.get("bootstrap.servers"));
    }

    /** Whether the cluster answered with at least one broker within the timeout. */
    boolean reachable() {
        try {
            return !admin.describeCluster(new DescribeClusterOptions().timeoutMs((int) timeout.toMillis())).nodes()
                    .get(timeout.toMillis() + 500, TimeUnit.MILLISECONDS).isEmpty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (ExecutionException | java.util.concurrent.TimeoutException | RuntimeException e) {
            return false;
        }
    }

    /** Why a topic's metadata is missing: a clause an operator can act on, and the kind of failure it is. */
    record NoMetadata(FailureReason reason, String why) {
    }

    /** Why {@code topic}'s metadata may be missing. */
    NoMetadata whyNoMetadata(String topic) throws InterruptedException {
        try {
            admin.describeTopics(List.of(topic), new DescribeTopicsOptions().timeoutMs((int) timeout.toMillis()))
                    .topicNameValues().get(topic).get(timeout.toMillis() + 500, TimeUnit.MILLISECONDS);
            return new NoMetadata(FailureReason.TIMEOUT, "the topic exists, but its metadata did not reach the producer in time");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                return new NoMetadata(FailureReason.REFUSED, "the topic does not exist and the broker does not create"
                        + " topics on first use (auto.create.topics.enable=false): create it, or change the topic template");
            }
            if (e.getCause() instanceof TopicAuthorizationException) {
                return new NoMetadata(FailureReason.REFUSED,
                        "this client is not authorized to describe or write the topic: grant it WRITE and DESCRIBE");
            }
            if (e.getCause() instanceof org.apache.kafka.common.errors.TimeoutException) {
                return silent();
            }
            return new NoMetadata(FailureReason.of(e.getCause()), "the broker at " + bootstrapServers
                    + " did not describe the topic (" + e.getCause().getMessage() + ")");
        } catch (java.util.concurrent.TimeoutException | RuntimeException e) {
            return silent();
        }
    }

    private NoMetadata silent() {
        return new NoMetadata(FailureReason.UNAVAILABLE, "the broker at " + bootstrapServers + " did not answer within " + timeout.toMillis()
                + " ms: is it down or unreachable?");
    }

    @Override
    public void close() {
        admin.close(Duration.ofSeconds(5));
    }
}
