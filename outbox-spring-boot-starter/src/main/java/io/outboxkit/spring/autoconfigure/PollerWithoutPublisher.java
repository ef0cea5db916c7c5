package io.outboxkit.spring.autoconfigure;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Made when the application has no {@code MessagePublisher} bean: says once, at INFO, that no
 * poller runs here, or fails the start when {@code outboxkit.poller.enabled=true} asked for one.
 */
final class PollerWithoutPublisher {

    private static final Logger LOG = LoggerFactory.getLogger(PollerWithoutPublisher.class);

    PollerWithoutPublisher(Boolean enabled) {
        if (Boolean.TRUE.equals(enabled)) {
            throw new IllegalStateException("outboxkit.poller.enabled=true, but the application has no MessagePublisher "
                    + "bean for the poller to deliver through: declare one (a @Bean of io.outboxkit.core.spi."
                    + "MessagePublisher), or set outboxkit.poller.enabled=false and deliver with the outbox-relay process");
        }
        if (enabled == null) {
            LOG.info("outboxkit: no MessagePublisher bean, so no poller runs in this application; messages stay PENDING "
                    + "until a poller elsewhere (the outbox-relay process) delivers them");
        }
    }
}
