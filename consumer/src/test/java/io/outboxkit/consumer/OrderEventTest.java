package io.outboxkit.consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.outboxkit.core.OutboxMessage;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** What the consumer reads from an order event's payload, and what it refuses as invalid (never retried). */
class OrderEventTest {

    private static final UUID ORDER = UUID.fromString("0193a5e2-7c3f-7b1e-9f00-1234567890ab");
    private static final String USER = "550e8400-e29b-41d4-a716-446655440000";

    @Test
    void an_order_created_payload_gives_the_order_its_customer_and_amount() throws Exception {
        OrderEvent event = OrderEvent.created(created("{\"user_id\":\"" + USER + "\",\"amount\":12.50}"), null);

        assertThat(event.orderId()).isEqualTo(ORDER);
        assertThat(event.userId()).isEqualTo(UUID.fromString(USER));
        assertThat(event.amount()).isEqualByComparingTo(new BigDecimal("12.50"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "-5", "10000000000", "1.005", "\"1e9999999999\""})
    void an_amount_no_order_can_have_is_an_invalid_payload(String amount) {
        OutboxMessage message = created("{\"user_id\":\"" + USER + "\",\"amount\":" + amount + "}");

        assertThatThrownBy(() -> OrderEvent.created(message, null)).isInstanceOf(InvalidPayloadException.class)
                .hasMessageContaining("amount is required and must be a positive number below 10000000000");
    }

    @ParameterizedTest
    @ValueSource(strings = {"1e9999999999", "-1e9999999999", "1e-9999999999"})
    void a_number_no_decimal_holds_is_an_invalid_payload_not_a_failure_to_retry(String amount) {
        OutboxMessage message = created("{\"user_id\":\"" + USER + "\",\"amount\":" + amount + "}");

        assertThatThrownBy(() -> OrderEvent.created(message, null)).isInstanceOf(InvalidPayloadException.class)
                .hasMessageEndingWith("is invalid: payload has a number whose exponent is out of range");
    }

    @ParameterizedTest
    @ValueSource(strings = {"1.%s", "1%s", "1%se-200000", "0.%s1"})
    void a_numeric_amount_of_more_than_40_digits_is_refused_unread_however_many_of_them_are_trailing_zeros(String shape) {
        // 200,000 zeros: checking the value (stripping them) would hold the handler's transaction for about a minute
        OutboxMessage message = created("{\"user_id\":\"" + USER + "\",\"amount\":" + shape.formatted("0".repeat(200_000)) + "}");

        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> assertThatThrownBy(() -> OrderEvent.created(message, null))
                .isInstanceOf(InvalidPayloadException.class).hasMessageEndingWith("is invalid: amount has more than 40 digits"));
    }

    @Test
    void a_numeric_amount_of_41_digits_is_refused_unread() {
        OutboxMessage message = created("{\"user_id\":\"" + USER + "\",\"amount\":10.5" + "0".repeat(38) + "}");

        assertThatThrownBy(() -> OrderEvent.created(message, null)).isInstanceOf(InvalidPayloadException.class)
                .hasMessageEndingWith("is invalid: amount has more than 40 digits");
    }

    @Test
    void a_numeric_amount_of_40_digits_is_read() throws Exception {
        OrderEvent event = OrderEvent.created(created("{\"user_id\":\"" + USER + "\",\"amount\":12.5" + "0".repeat(37) + "}"), null);

        assertThat(event.amount()).isEqualByComparingTo(new BigDecimal("12.50"));
    }

    @Test
    void an_amount_string_longer_than_40_characters_is_refused_unread() {
        OutboxMessage message = created("{\"user_id\":\"" + USER + "\",\"amount\":\"1." + "0".repeat(39) + "\"}");

        assertThatThrownBy(() -> OrderEvent.created(message, null)).isInstanceOf(InvalidPayloadException.class)
                .hasMessageEndingWith("is invalid: amount is longer than 40 characters");
    }

    private static OutboxMessage created(String payload) {
        return new OutboxMessage(UUID.randomUUID(), 1, "Order", ORDER.toString(), "OrderCreated", payload, Map.of(),
                Instant.now(), 1);
    }
}
