package io.outboxkit.examples.orders;

import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.spi.MessagePublisher;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * Where the starter's poller delivers: this example logs each event. A real service sends it to a
 * broker or another service here (throwing means "not delivered": the poller retries it with
 * backoff). Declaring this bean is what makes the poller run in this process; without it, the
 * events wait for the outbox-relay process.
 */
@Component
public class LoggingPublisher implements MessagePublisher {

    private static final Logger LOG = LoggerFactory.getLogger(LoggingPublisher.class);

    @Override
    public void publish(OutboxMessage message) {
        LOG.info("delivered {} of {} {} (message {}): {}", message.eventType(), message.aggregateType(),
                message.aggregateId(), message.id(), message.payload());
    }
}
