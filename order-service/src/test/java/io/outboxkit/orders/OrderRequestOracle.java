package io.outboxkit.orders;

import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import io.outboxkit.app.Jsons;
import io.outboxkit.testing.HostileRequest;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * What {@code POST /orders} must answer, written from the README's rules, independently of the
 * service's code: an order is created (201) only for a JSON object of exactly {@code user_id} (a
 * UUID string) and {@code amount} (a JSON number above 0, at most 99999999.99, at most two
 * decimals), sent as application/json, at most 16 KiB, with a valid Idempotency-Key or none; every
 * other request is a 4xx. Keys of successful requests are remembered: the same key again replays
 * (same request) or is 422 (another request). Not thread-safe.
 */
final class OrderRequestOracle {

    /**
     * What a request must get: one of {@code statuses} (null: any 4xx); for a 201, the order's
     * customer and amount, whether it is a replay, and the Idempotency-Key it stores.
     */
    record Expected(Set<Integer> statuses, UUID userId, BigDecimal amount, boolean replay, String key) {

        /** Whether it creates an order. */
        boolean creates() {
            return succeeds() && !replay;
        }

        /** Whether it gets a 201 (a new order, or the replay of one). */
        boolean succeeds() {
            return statuses != null && statuses.contains(201);
        }
    }

    private static final Pattern UUID_TEXT = Pattern.compile(
            "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
    private static final BigDecimal MAX_AMOUNT = new BigDecimal("99999999.99");
    private static final int MAX_BODY = 16 * 1024;
    private static final ObjectReader JSON = Jsons.mapper().reader().with(StreamReadFeature.STRICT_DUPLICATE_DETECTION);
    private static final Set<Integer> BAD_REQUEST = Set.of(400);
    /** Jetty's default limit on the request line and headers together. */
    private static final int MAX_HEADERS = 8 * 1024;

    /** Keys of the requests that succeeded, with the fingerprint of each. */
    private final Map<String, String> usedKeys = new HashMap<>();

    /** What {@code request} must get; any 4xx for anything but a POST /orders. */
    Expected expect(HostileRequest request) {
        if (!request.is("POST", "/orders")) {
            return refused(null);
        }
        if (request.headers().stream().mapToInt(h -> h.getBytes(StandardCharsets.UTF_8).length + 2).sum() > MAX_HEADERS) {
            return refused(Set.of(431));
        }
        if (request.headers().stream().anyMatch(OrderRequestOracle::hasControlCharacter)) {
            return refused(null); // refused by the HTTP server or by the service: a 4xx either way
        }
        String key = request.header("Idempotency-Key");
        if (key != null) {
            key = trimOws(key);
            if (!key.chars().allMatch(c -> c >= 0x20 && c <= 0x7e)) {
                return refused(BAD_REQUEST);
            }
            if (key.isBlank() || key.length() > 200) {
                return refused(BAD_REQUEST);
            }
        }
        String type = request.header("Content-Type");
        if (type == null || !trimOws(type).toLowerCase(Locale.ROOT).startsWith("application/json")) {
            return refused(Set.of(415));
        }
        byte[] body = request.body() == null ? new byte[0] : request.body();
        if (body.length > MAX_BODY) {
            return refused(Set.of(413));
        }
        Expected valid = validBody(body);
        if (valid == null) {
            return refused(BAD_REQUEST);
        }
        if (key == null) {
            return valid;
        }
        String fingerprint = fingerprint(body);
        String earlier = usedKeys.get(key);
        if (earlier == null) {
            return new Expected(valid.statuses(), valid.userId(), valid.amount(), false, key);
        }
        return earlier.equals(fingerprint) ? new Expected(Set.of(201), valid.userId(), valid.amount(), true, key)
                : refused(Set.of(422));
    }

    /** Records that {@code request}, expected as {@code expected}, succeeded. */
    void succeeded(HostileRequest request, Expected expected) {
        if (expected.key() != null) {
            usedKeys.putIfAbsent(expected.key(), fingerprint(request.body()));
        }
    }

    /** The order a body asks for, or null when the body must be refused. */
    private static Expected validBody(byte[] body) {
        JsonNode node;
        try {
            node = JSON.readTree(body);
        } catch (IOException | NumberFormatException e) {
            return null; // not JSON, or a number beyond what BigDecimal holds
        }
        if (node == null || !node.isObject() || node.size() != 2) {
            return null;
        }
        for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
            if (!Set.of("user_id", "amount").contains(names.next())) {
                return null;
            }
        }
        JsonNode user = node.get("user_id");
        JsonNode amount = node.get("amount");
        if (!user.isTextual() || !UUID_TEXT.matcher(user.textValue()).matches() || !amount.isNumber()) {
            return null;
        }
        BigDecimal value;
        try {
            value = amount.decimalValue();
        } catch (NumberFormatException | ArithmeticException e) {
            return null; // an exponent beyond what BigDecimal holds: far out of range either way
        }
        if (value.signum() <= 0 || value.compareTo(MAX_AMOUNT) > 0 || value.stripTrailingZeros().scale() > 2) {
            return null;
        }
        return new Expected(Set.of(201), UUID.fromString(user.textValue()), value, false, null);
    }

    private static Expected refused(Set<Integer> statuses) {
        return new Expected(statuses, null, null, false, null);
    }

    /** A control character other than tab: the HTTP server refuses it in a header. */
    private static boolean hasControlCharacter(String value) {
        return value.chars().anyMatch(c -> c < 0x20 && c != '\t' || c == 0x7f);
    }

    /** HTTP drops optional white space (space, tab) around a header value. */
    private static String trimOws(String value) {
        int from = 0;
        int to = value.length();
        while (from < to && (value.charAt(from) == ' ' || value.charAt(from) == '\t')) {
            from++;
        }
        while (to > from && (value.charAt(to - 1) == ' ' || value.charAt(to - 1) == '\t')) {
            to--;
        }
        return value.substring(from, to);
    }

    private static String fingerprint(byte[] body) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update("POST /orders\n".getBytes(StandardCharsets.UTF_8));
            sha.update(body == null ? new byte[0] : body);
            return HexFormat.of().formatHex(sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
