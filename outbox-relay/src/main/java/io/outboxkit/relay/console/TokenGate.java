package io.outboxkit.relay.console;

import io.javalin.http.Context;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Checks the admin token on a request: in {@code Authorization: Bearer <token>}, or in the
 * HTTP-only cookie {@link #COOKIE} that the login form sets. The cookie holds a value derived from
 * the token (an HMAC of it), so a cookie read off a browser does not reveal the token, and a new
 * token ends every session. Comparisons take constant time. Immutable and thread-safe.
 */
final class TokenGate {

    /** The session cookie's name. */
    static final String COOKIE = "outboxkit_admin";

    private final byte[] token;
    private final String session;

    TokenGate(ConsoleSettings settings) {
        this.token = settings.hasToken() ? settings.token().getBytes(StandardCharsets.UTF_8) : null;
        this.session = token == null ? null : hmac(token, "outboxkit console session");
    }

    /** Whether requests need the token at all. */
    boolean required() {
        return token != null;
    }

    /** Whether {@code ctx} carries the token (always true when none is set). */
    boolean admits(Context ctx) {
        if (token == null) {
            return true;
        }
        String authorization = ctx.header("Authorization");
        if (authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return matches(authorization.substring(7).trim());
        }
        String cookie = ctx.cookie(COOKIE);
        return cookie != null && MessageDigest.isEqual(session.getBytes(StandardCharsets.UTF_8),
                cookie.getBytes(StandardCharsets.UTF_8));
    }

    /** Whether {@code candidate} is the token. */
    boolean matches(String candidate) {
        return token != null && candidate != null
                && MessageDigest.isEqual(token, candidate.getBytes(StandardCharsets.UTF_8));
    }

    /** The cookie value of a logged-in browser. */
    String session() {
        return session;
    }

    private static String hmac(byte[] key, String message) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return Base64.getUrlEncoder().withoutPadding().encodeToString(mac.doFinal(message.getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available", e);
        }
    }
}
