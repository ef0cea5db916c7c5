package io.outboxkit.relay.console;

import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The anti-forgery token of each rendered form: its issue time and a random nonce, signed with a
 * key this process drew at start. A POST is accepted only with a token this process issued less
 * than {@link #LIFETIME} ago; another site cannot read one (the same-origin policy keeps the page
 * from it), so it cannot forge the POST. A restart ends the tokens (the page says to reload).
 * Thread-safe.
 */
final class FormTokens {

    /** How long a rendered form stays valid. */
    static final Duration LIFETIME = Duration.ofHours(12);
    /** The form field that carries the token. */
    static final String FIELD = "form_token";

    private static final int PAYLOAD = Long.BYTES + 16;
    private static final int MAC = 32;

    private final SecureRandom random = new SecureRandom();
    private final SecretKeySpec key;

    FormTokens() {
        byte[] secret = new byte[32];
        random.nextBytes(secret);
        this.key = new SecretKeySpec(secret, "HmacSHA256");
    }

    /** A new token, valid for {@link #LIFETIME}. */
    String issue() {
        byte[] nonce = new byte[16];
        random.nextBytes(nonce);
        ByteBuffer payload = ByteBuffer.allocate(PAYLOAD).putLong(System.currentTimeMillis()).put(nonce);
        byte[] token = ByteBuffer.allocate(PAYLOAD + MAC).put(payload.array()).put(mac(payload.array())).array();
        return Base64.getUrlEncoder().withoutPadding().encodeToString(token);
    }

    /** Whether {@code token} was issued by this process less than {@link #LIFETIME} ago. */
    boolean valid(String token) {
        if (token == null || token.length() > 200) {
            return false;
        }
        byte[] bytes;
        try {
            bytes = Base64.getUrlDecoder().decode(token);
        } catch (IllegalArgumentException e) {
            return false;
        }
        if (bytes.length != PAYLOAD + MAC) {
            return false;
        }
        byte[] payload = Arrays.copyOf(bytes, PAYLOAD);
        if (!MessageDigest.isEqual(mac(payload), Arrays.copyOfRange(bytes, PAYLOAD, bytes.length))) {
            return false;
        }
        long age = System.currentTimeMillis() - ByteBuffer.wrap(payload).getLong();
        return age >= -60_000 && age <= LIFETIME.toMillis();
    }

    private byte[] mac(byte[] payload) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(key);
            return mac.doFinal(payload);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available", e);
        }
    }
}
