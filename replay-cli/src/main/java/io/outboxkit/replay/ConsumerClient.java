package io.outboxkit.replay;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import io.outboxkit.app.Jsons;
import io.outboxkit.app.RootCause;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/** Posts message envelopes to the consumer's endpoint, one request per delivery, as the relay does. */
final class ConsumerClient {

    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(3);
    static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);
    private static final int MAX_DETAIL = 200;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT).build();
    private final URI endpoint;

    ConsumerClient(URI endpoint) {
        this.endpoint = endpoint;
    }

    /**
     * Delivers {@code envelope} (JSON) once.
     *
     * @throws CliFailure when the consumer cannot be reached or does not answer in time
     */
    Delivery deliver(byte[] envelope) {
        HttpRequest request = HttpRequest.newBuilder(endpoint)
                .timeout(REQUEST_TIMEOUT)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(envelope))
                .build();
        HttpResponse<String> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        } catch (HttpConnectTimeoutException e) {
            throw unreachable("no connection within " + CONNECT_TIMEOUT.toSeconds() + "s");
        } catch (HttpTimeoutException e) {
            throw unreachable("no answer within " + REQUEST_TIMEOUT.toSeconds() + "s");
        } catch (ConnectException e) {
            throw unreachable("connection refused (is the consumer running?)");
        } catch (IOException e) {
            throw unreachable(RootCause.message(e));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliFailure("interrupted while delivering to the consumer at " + endpoint);
        }
        return read(response.statusCode(), response.body());
    }

    private CliFailure unreachable(String why) {
        return new CliFailure("cannot reach the consumer at " + endpoint + ": " + why);
    }

    static Delivery read(int status, String body) {
        JsonNode json = parse(body);
        if (status >= 200 && status < 300) {
            String outcome = json.path("status").asText("");
            if ("processed".equals(outcome)) {
                return new Delivery(Delivery.Kind.PROCESSED, status, "");
            }
            if ("duplicate".equals(outcome)) {
                return new Delivery(Delivery.Kind.DUPLICATE, status, "");
            }
            return new Delivery(Delivery.Kind.OTHER, status, EntryTable.truncate(body, MAX_DETAIL));
        }
        String error = json.path("error").isTextual() ? json.path("error").asText() : body;
        return new Delivery(Delivery.Kind.REJECTED, status, EntryTable.truncate(error, MAX_DETAIL));
    }

    private static JsonNode parse(String body) {
        try {
            JsonNode node = Jsons.mapper().readTree(body);
            return node == null ? Jsons.mapper().missingNode() : node;
        } catch (JacksonException e) {
            return Jsons.mapper().missingNode();
        }
    }
}
