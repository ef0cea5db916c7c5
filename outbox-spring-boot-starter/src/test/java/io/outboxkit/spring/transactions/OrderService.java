package io.outboxkit.spring.transactions;

import io.outboxkit.core.NewMessage;
import io.outboxkit.spring.SpringOutboxWriter;
import java.util.UUID;
import org.springframework.transaction.annotation.Propagation;
import org.springframework.transaction.annotation.Transactional;

/**
 * The service under test, as an application writes one: each method saves an order and writes its
 * event in a {@code @Transactional} method; {@link Inner} holds the methods of other propagations,
 * called through its proxy from here.
 */
class OrderService {

    private final Orders orders;
    private final SpringOutboxWriter outbox;
    private final Inner inner;

    OrderService(Orders orders, SpringOutboxWriter outbox, Inner inner) {
        this.orders = orders;
        this.outbox = outbox;
        this.inner = inner;
    }

    /** Saves the order and its event; throws after both when {@code failAfterWrite}. */
    @Transactional
    public void create(UUID id, boolean failAfterWrite) {
        saveWithEvent(orders, outbox, id);
        if (failAfterWrite) {
            throw new IllegalStateException("failing after the write of " + id);
        }
    }

    /** Saves {@code outer}, then {@code innerId} in a REQUIRES_NEW transaction; throws at the end when {@code failOuter}. */
    @Transactional
    public void createWithRequiresNew(UUID outer, UUID innerId, boolean failInner, boolean failOuter) {
        saveWithEvent(orders, outbox, outer);
        try {
            inner.createInNewTransaction(innerId, failInner);
        } catch (IllegalStateException expected) {
            // the inner transaction rolled back alone
        }
        if (failOuter) {
            throw new IllegalStateException("failing the outer transaction");
        }
    }

    /** Saves {@code outer}, then {@code innerId} in a NESTED transaction that fails when {@code failInner}. */
    @Transactional
    public void createWithNested(UUID outer, UUID innerId, boolean failInner) {
        saveWithEvent(orders, outbox, outer);
        try {
            inner.createNested(innerId, failInner);
        } catch (IllegalStateException expected) {
            // the nested scope rolled back to its savepoint; the outer transaction goes on
        }
    }

    /** Writes an event in a read-only transaction. */
    @Transactional(readOnly = true)
    public void createReadOnly(UUID id) {
        outbox.write(event(id));
    }

    /** Writes an event with no transaction at all (SUPPORTS, and none open). */
    @Transactional(propagation = Propagation.SUPPORTS)
    public void createWithoutTransaction(UUID id) {
        outbox.write(event(id));
    }

    static void saveWithEvent(Orders orders, SpringOutboxWriter outbox, UUID id) {
        orders.save(id);
        outbox.write(event(id));
    }

    static NewMessage event(UUID id) {
        return NewMessage.of("Order", id.toString(), "OrderCreated", "{\"order_id\":\"" + id + "\"}");
    }

    /** The methods called from {@link OrderService} with another propagation. */
    static class Inner {
        private final Orders orders;
        private final SpringOutboxWriter outbox;

        Inner(Orders orders, SpringOutboxWriter outbox) {
            this.orders = orders;
            this.outbox = outbox;
        }

        @Transactional(propagation = Propagation.REQUIRES_NEW)
        public void createInNewTransaction(UUID id, boolean fail) {
            saveWithEvent(orders, outbox, id);
            if (fail) {
                throw new IllegalStateException("failing the inner transaction");
            }
        }

        @Transactional(propagation = Propagation.NESTED)
        public void createNested(UUID id, boolean fail) {
            saveWithEvent(orders, outbox, id);
            if (fail) {
                throw new IllegalStateException("failing the nested scope");
            }
        }
    }
}
