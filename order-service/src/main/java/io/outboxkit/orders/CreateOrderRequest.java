package io.outboxkit.orders;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import io.outboxkit.app.Jsons;
import io.outboxkit.app.Uuids;
import io.outboxkit.app.http.ApiError;
import io.outboxkit.core.spi.Texts;
import java.io.IOException;
import java.math.BigDecimal;
import java.util.Iterator;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;

/**
 * The body of {@code POST /orders}: {@code {"user_id": "<uuid>", "amount": 100.0}}, parsed strictly.
 *
 * <p>Refused with a 400 naming the problem: text that is not JSON (including NaN, trailing
 * content, duplicate keys and a number whose exponent no BigDecimal holds), a body that is not an
 * object, unknown fields, a {@code user_id} that is not a UUID string, an {@code amount} that is
 * not a JSON number (a string is refused), not above zero, with more than 2 decimals, or above
 * {@value #MAX_AMOUNT_TEXT}.
 *
 * @param userId who places the order
 * @param amount what it costs, positive, scale 2
 */
record CreateOrderRequest(UUID userId, BigDecimal amount) {

    /** The largest amount {@code numeric(10,2)} stores, as text. */
    static final String MAX_AMOUNT_TEXT = "99999999.99";

    private static final BigDecimal MAX_AMOUNT = new BigDecimal(MAX_AMOUNT_TEXT);
    private static final int SCALE = 2;
    private static final Set<String> FIELDS = Set.of("user_id", "amount");
    private static final ObjectReader READER = Jsons.mapper().reader()
            .with(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .without(DeserializationFeature.FAIL_ON_TRAILING_TOKENS); // checked below, to say it in plain words
    private static final int MAX_ECHO = 200;

    CreateOrderRequest {
        Objects.requireNonNull(userId, "userId");
        Objects.requireNonNull(amount, "amount");
    }

    /**
     * Parses and validates a request body.
     *
     * @throws ApiError 400 naming what is wrong
     */
    static CreateOrderRequest parse(byte[] body) {
        JsonNode node;
        try (JsonParser json = READER.createParser(body)) {
            node = READER.readTree(json);
            if (node != null && json.nextToken() != null) {
                throw ApiError.badRequest("body is not valid JSON: it goes on after its first value's end");
            }
        } catch (JacksonException e) {
            throw ApiError.badRequest("body is not valid JSON: " + shorten(Jsons.syntaxError(e)));
        } catch (IOException e) {
            throw ApiError.badRequest("body could not be read");
        } catch (NumberFormatException e) {
            // Jackson reads decimals as BigDecimal while it parses: an exponent beyond an int fails there
            throw ApiError.badRequest("body has a number out of any usable range (an exponent beyond 2^31)");
        }
        if (node == null || node.isMissingNode()) {
            throw ApiError.badRequest("body is empty: expected a JSON object with user_id and amount");
        }
        if (!node.isObject()) {
            throw ApiError.badRequest("body must be a JSON object with user_id and amount, was a JSON "
                    + node.getNodeType().name().toLowerCase(java.util.Locale.ROOT));
        }
        for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!FIELDS.contains(name)) {
                throw ApiError.badRequest("unknown field \"" + shorten(name) + "\": only user_id and amount are accepted");
            }
        }
        return new CreateOrderRequest(userId(node.get("user_id")), amount(node.get("amount")));
    }

    private static UUID userId(JsonNode node) {
        if (node == null || node.isNull()) {
            throw ApiError.badRequest("user_id is required");
        }
        return Uuids.parse(node.textValue()).orElseThrow(() -> ApiError.badRequest(
                "user_id must be a UUID string such as \"3f2b8c1e-6a5d-4f7e-9b0a-1c2d3e4f5a6b\""));
    }

    private static BigDecimal amount(JsonNode node) {
        if (node == null || node.isNull()) {
            throw ApiError.badRequest("amount is required");
        }
        if (!node.isNumber()) {
            throw ApiError.badRequest("amount must be a JSON number such as 100.00 (not a string)");
        }
        BigDecimal amount = node.decimalValue();
        // Range first: compareTo stays cheap for huge exponents (1e999999999), and setScale below
        // then only ever sees a value that fits.
        if (amount.signum() <= 0) {
            throw ApiError.badRequest("amount must be greater than 0");
        }
        if (amount.compareTo(MAX_AMOUNT) > 0) {
            throw ApiError.badRequest("amount must be at most " + MAX_AMOUNT_TEXT);
        }
        if (amount.stripTrailingZeros().scale() > SCALE) {
            throw ApiError.badRequest("amount must have at most 2 decimals");
        }
        return amount.setScale(SCALE);
    }

    private static String shorten(String text) {
        if (text == null) {
            return "";
        }
        return Texts.abbreviate(text, MAX_ECHO);
    }
}
