package io.outboxkit.examples.orders;

import jakarta.validation.Valid;
import jakarta.validation.constraints.DecimalMax;
import jakarta.validation.constraints.Digits;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Positive;
import java.math.BigDecimal;
import java.util.UUID;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

/** {@code POST /orders}: 201 and the order; 400 for a missing user, or an amount that is not a positive money amount. */
@RestController
public class OrderController {

    private final OrderService service;

    /** The endpoint over the service. */
    public OrderController(OrderService service) {
        this.service = service;
    }

    /** What a client sends: {@code {"user_id": "<uuid>", "amount": 100.0}}. */
    public record CreateOrder(@NotNull UUID userId,
                              @NotNull @Positive @Digits(integer = 8, fraction = 2) @DecimalMax("99999999.99") BigDecimal amount) {
    }

    /** Creates the order and its event. */
    @PostMapping("/orders")
    @ResponseStatus(HttpStatus.CREATED)
    public Order create(@Valid @RequestBody CreateOrder request) {
        return service.create(request.userId(), request.amount());
    }
}
