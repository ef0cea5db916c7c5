package io.outboxkit.spring.transactions;

import io.outboxkit.spring.SpringOutboxWriter;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.transaction.annotation.Propagation;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.transaction.event.TransactionPhase;
import org.springframework.transaction.event.TransactionalEventListener;

/**
 * The common Spring pattern of writing the outbox event from a
 * {@code @TransactionalEventListener(phase = AFTER_COMMIT)}: by then the transaction has committed,
 * so the write can no longer be part of it.
 */
@Configuration(proxyBeanMethods = false)
class AfterCommitEvents {

    /** The application event the service publishes when it saved an order. */
    record OrderSaved(UUID id) {
    }

    /** What the listener's write did: the id it returned, or what it threw. */
    static final class Outcome {
        final AtomicReference<UUID> written = new AtomicReference<>();
        final AtomicReference<RuntimeException> refused = new AtomicReference<>();
    }

    @Bean
    Outcome outcome() {
        return new Outcome();
    }

    @Bean
    Saver saver(Orders orders, ApplicationEventPublisher events) {
        return new Saver(orders, events);
    }

    @Bean
    Listener listener(SpringOutboxWriter outbox, Outcome outcome) {
        return new Listener(outbox, outcome);
    }

    /** Saves an order and publishes {@link OrderSaved} in its transaction. */
    static class Saver {
        private final Orders orders;
        private final ApplicationEventPublisher events;

        Saver(Orders orders, ApplicationEventPublisher events) {
            this.orders = orders;
            this.events = events;
        }

        @Transactional
        public void save(UUID id) {
            orders.save(id);
            events.publishEvent(new OrderSaved(id));
        }
    }

    /** Writes the event once the order's transaction committed. */
    static class Listener {
        private final SpringOutboxWriter outbox;
        private final Outcome outcome;

        Listener(SpringOutboxWriter outbox, Outcome outcome) {
            this.outbox = outbox;
            this.outcome = outcome;
        }

        @TransactionalEventListener(phase = TransactionPhase.AFTER_COMMIT)
        public void afterCommit(OrderSaved saved) {
            try {
                outcome.written.set(outbox.write(OrderService.event(saved.id())));
            } catch (RuntimeException e) {
                outcome.refused.set(e);
            }
        }
    }

    /** The same listener in a transaction of its own, as the refusal advises. */
    static class OwnTransactionListener extends Listener {

        OwnTransactionListener(SpringOutboxWriter outbox, Outcome outcome) {
            super(outbox, outcome);
        }

        @Override
        @TransactionalEventListener(phase = TransactionPhase.AFTER_COMMIT)
        @Transactional(propagation = Propagation.REQUIRES_NEW)
        public void afterCommit(OrderSaved saved) {
            super.afterCommit(saved);
        }
    }
}
