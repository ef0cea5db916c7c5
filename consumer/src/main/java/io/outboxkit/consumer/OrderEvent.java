package io.outboxkit.consumer;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import io.outboxkit.app.Jsons;
import io.outboxkit.app.Uuids;
import io.outboxkit.core.OutboxMessage;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.UUID;

/**
 * What the consumer reads from an order event's payload.
 *
 * <p>The order is the payload's {@code order_id}, or else the envelope's aggregate id; either must
 * be a UUID. {@code OrderCreated} also needs {@code user_id} (a UUID) and {@code amount} (a
 * positive number, or numeric string, with at most two decimals, below 10^10); the other events
 * may carry {@code user_id}. An amount longer than {@value #MAX_AMOUNT_TEXT} characters or digits, or with
 * more than that many decimals or exponent, is refused before it is checked (however many of its
 * digits are trailing zeros). Anything else in the payload is ignored, however long its numbers are
 * and as deep as {@link Jsons#messageMapper()} reads it.
 *
 * @param orderId the order
 * @param userId  its customer, or null when the event does not say
 * @param amount  the order's amount, or null when the event does not say
 */
record OrderEvent(UUID orderId, UUID userId, BigDecimal amount) {

    static final BigDecimal MAX_AMOUNT = new BigDecimal("10000000000");
    /**
     * The longest amount that is read at all, as a string in characters, as a number in digits and
     * in decimals or exponent: a valid one needs far less, and a longer one would cost time
     * quadratic in its length to check.
     */
    static final int MAX_AMOUNT_TEXT = 40;
    /** A numeric amount's digits of more bits than this are too many, known without counting them (which costs as much as stripping). */
    private static final int MAX_AMOUNT_BITS = BigInteger.TEN.pow(MAX_AMOUNT_TEXT).bitLength();

    /**
     * Reads an {@code OrderCreated} payload, which must name the customer and the amount: from
     * {@code parsed}, the payload already parsed, or from its text when that is null.
     */
    static OrderEvent created(OutboxMessage message, JsonNode parsed) throws InvalidPayloadException {
        JsonNode payload = payload(message, parsed);
        return new OrderEvent(orderId(message, payload), requireUuid(message, payload, "user_id"),
                amount(message, payload));
    }

    /** Reads the payload of an event that changes an order's status (from {@code parsed}, as {@link #created}). */
    static OrderEvent statusChange(OutboxMessage message, JsonNode parsed) throws InvalidPayloadException {
        JsonNode payload = payload(message, parsed);
        UUID userId = payload.hasNonNull("user_id") ? requireUuid(message, payload, "user_id") : null;
        return new OrderEvent(orderId(message, payload), userId, null);
    }

    private static JsonNode payload(OutboxMessage message, JsonNode parsed) throws InvalidPayloadException {
        if (parsed != null && parsed.isObject()) {
            return parsed;
        }
        try {
            JsonNode payload = Jsons.messageMapper().readTree(message.payload());
            if (payload != null && payload.isObject()) {
                return payload;
            }
        } catch (JacksonException e) {
            // reported below
        } catch (NumberFormatException e) {
            // Jackson's own, not a JacksonException, for a number no BigDecimal holds (1e9999999999)
            throw invalid(message, "payload has a number whose exponent is out of range");
        }
        throw invalid(message, "payload must be a JSON object");
    }

    private static UUID orderId(OutboxMessage message, JsonNode payload) throws InvalidPayloadException {
        if (payload.hasNonNull("order_id")) {
            return requireUuid(message, payload, "order_id");
        }
        return Uuids.parse(message.aggregateId()).orElseThrow(() -> invalid(message,
                "order_id is missing from the payload and the aggregate id is not a UUID"));
    }

    private static UUID requireUuid(OutboxMessage message, JsonNode payload, String field)
            throws InvalidPayloadException {
        JsonNode value = payload.get(field);
        if (value == null || !value.isTextual()) {
            throw invalid(message, field + " is required and must be a UUID string");
        }
        return Uuids.parse(value.asText()).orElseThrow(() -> invalid(message, field + " is not a UUID"));
    }

    private static BigDecimal amount(OutboxMessage message, JsonNode payload) throws InvalidPayloadException {
        JsonNode value = payload.get("amount");
        BigDecimal amount = null;
        if (value != null && value.isNumber()) {
            amount = value.decimalValue();
            // bounded before any arithmetic: stripping the zeros of 1.000... is quadratic in their number
            if (amount.unscaledValue().bitLength() > MAX_AMOUNT_BITS || amount.precision() > MAX_AMOUNT_TEXT
                    || Math.abs((long) amount.scale()) > MAX_AMOUNT_TEXT) {
                throw invalid(message, "amount has more than " + MAX_AMOUNT_TEXT + " digits");
            }
        } else if (value != null && value.isTextual()) {
            if (value.asText().length() > MAX_AMOUNT_TEXT) {
                // bounded: BigDecimal parses (and strips) a long digit string in quadratic time
                throw invalid(message, "amount is longer than " + MAX_AMOUNT_TEXT + " characters");
            }
            try {
                amount = new BigDecimal(value.asText().trim());
            } catch (NumberFormatException e) {
                // reported below
            }
        }
        if (amount == null || amount.signum() <= 0 || amount.compareTo(MAX_AMOUNT) >= 0
                || amount.stripTrailingZeros().scale() > 2) {
            throw invalid(message, "amount is required and must be a positive number below " + MAX_AMOUNT.toPlainString()
                    + " with at most 2 decimals");
        }
        return amount;
    }

    private static InvalidPayloadException invalid(OutboxMessage message, String problem) {
        return new InvalidPayloadException("payload of " + message.eventType() + " message " + message.id()
                + " is invalid: " + problem);
    }
}
