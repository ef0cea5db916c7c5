package io.outboxkit.examples.orders;

import io.outboxkit.core.NewMessage;
import io.outboxkit.spring.SpringOutboxWriter;
import java.math.BigDecimal;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;
import tools.jackson.databind.json.JsonMapper;

/** Creates orders: the order and its OrderCreated event commit together, or neither does. */
@Service
public class OrderService {

    private final OrderRepository orders;
    private final SpringOutboxWriter outbox;
    private final JsonMapper json;

    /** The service over the repository, the starter's writer and Spring Boot's JSON mapper. */
    public OrderService(OrderRepository orders, SpringOutboxWriter outbox, JsonMapper json) {
        this.orders = orders;
        this.outbox = outbox;
        this.json = json;
    }

    /**
     * Saves a new order and writes its {@code OrderCreated} event in the same transaction: the
     * event joins the JPA transaction, so a failure anywhere before the commit leaves neither.
     */
    @Transactional
    public Order create(UUID userId, BigDecimal amount) {
        Order order = orders.save(new Order(userId, amount));
        Map<String, Object> event = new LinkedHashMap<>();
        event.put("order_id", order.getId());
        event.put("user_id", userId);
        event.put("amount", amount);
        outbox.write(NewMessage.of("Order", order.getId().toString(), "OrderCreated", json.writeValueAsString(event)));
        return order;
    }
}
