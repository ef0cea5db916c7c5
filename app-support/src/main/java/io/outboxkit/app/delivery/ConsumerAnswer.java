package io.outboxkit.app.delivery;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import io.outboxkit.app.Jsons;
import java.util.Optional;

/**
 * What a consumer answered to one request.
 *
 * @param status the HTTP status code
 * @param body   the body, decoded as UTF-8 unless the answer names another charset (an answer
 *               larger than 4 MiB is not read: that delivery fails)
 */
public record ConsumerAnswer(int status, String body) {

    /** Whether the status is 2xx. */
    public boolean isSuccess() {
        return status >= 200 && status < 300;
    }

    /**
     * What the body reports of the message, its {@value DeliveryProtocol#STATUS} field
     * ({@value DeliveryProtocol#PROCESSED} or {@value DeliveryProtocol#DUPLICATE} from a consumer
     * that took it); empty when the body is not a JSON object with that field as text.
     */
    public Optional<String> reportedStatus() {
        return textField(DeliveryProtocol.STATUS);
    }

    /** The body's {@value DeliveryProtocol#ERROR} field, which a consumer sends with a refusal; empty when it has none. */
    public Optional<String> error() {
        return textField(DeliveryProtocol.ERROR);
    }

    private Optional<String> textField(String name) {
        try {
            JsonNode node = Jsons.mapper().readTree(body);
            return node != null && node.path(name).isTextual() ? Optional.of(node.path(name).asText()) : Optional.empty();
        } catch (JacksonException | NumberFormatException e) { // Jackson's NumberFormatException: an exponent out of range
            return Optional.empty();
        }
    }
}
