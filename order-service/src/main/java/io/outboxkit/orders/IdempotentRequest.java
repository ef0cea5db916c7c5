package io.outboxkit.orders;

import io.outboxkit.app.http.ApiError;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Optional;

/**
 * A request that carries an {@code Idempotency-Key}: the key, and a fingerprint (SHA-256) of the
 * method, path and body, which tells a retry of the same request from another one reusing the key.
 *
 * @param key         the key, 1 to {@value #MAX_KEY_LENGTH} printable ASCII characters
 * @param fingerprint hex SHA-256 of method, path and body
 */
record IdempotentRequest(String key, String fingerprint) {

    /** The request header that carries the key. */
    static final String HEADER = "Idempotency-Key";
    /** The longest key accepted. */
    static final int MAX_KEY_LENGTH = 200;

    IdempotentRequest {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(fingerprint, "fingerprint");
    }

    /**
     * The keyed request, or empty when {@code headerValue} is null (no header).
     *
     * @throws ApiError 400 when the key is empty, too long, or not printable ASCII
     */
    static Optional<IdempotentRequest> of(String headerValue, String method, String path, byte[] body) {
        if (headerValue == null) {
            return Optional.empty();
        }
        requireValidKey(headerValue);
        return Optional.of(new IdempotentRequest(headerValue, fingerprint(method, path, body)));
    }

    /**
     * Checks a key before anything else of the request is read; null (no header) passes.
     *
     * @throws ApiError 400 when the key is empty, too long, or not printable ASCII
     */
    static void requireValidKey(String headerValue) {
        if (headerValue == null) {
            return;
        }
        if (headerValue.isBlank() || headerValue.length() > MAX_KEY_LENGTH
                || !headerValue.chars().allMatch(c -> c >= 0x20 && c <= 0x7e)) {
            throw ApiError.badRequest(HEADER + " must be 1 to " + MAX_KEY_LENGTH
                    + " printable ASCII characters, not blank");
        }
    }

    private static String fingerprint(String method, String path, byte[] body) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update((method + " " + path + "\n").getBytes(StandardCharsets.UTF_8));
            sha.update(body);
            return HexFormat.of().formatHex(sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }
}
