package io.outboxkit.spring.autoconfigure;

import io.outboxkit.nats.NatsPublisher;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * The NATS JetStream publisher the starter makes when outbox-nats is on the class path and
 * {@code outboxkit.nats.url} is set (see {@link NatsPublisher} for what it guarantees). Checked by
 * the publisher's builder at start, which also connects and makes sure the stream exists; a bad
 * value stops the start naming its property. Immutable.
 *
 * @param url            the servers: {@code nats://host:4222}, several separated by commas,
 *                       {@code tls://...} for TLS, credentials as {@code nats://user:password@host:4222}
 * @param stream         the JetStream stream messages are stored in (created if absent, over
 *                       {@code <subject-prefix>.>})
 * @param subjectPrefix  the first token(s) of every subject: {@code <prefix>.<aggregate_type>.<event_type>}
 * @param publishTimeout how long a batch waits for its acknowledgements; keep it well below outboxkit.lease
 */
@ConfigurationProperties("outboxkit.nats")
public record OutboxNatsProperties(String url,
                                   @DefaultValue(NatsPublisher.DEFAULT_STREAM) String stream,
                                   @DefaultValue(NatsPublisher.DEFAULT_SUBJECT_PREFIX) String subjectPrefix,
                                   @DefaultValue("10s") Duration publishTimeout) {
}
