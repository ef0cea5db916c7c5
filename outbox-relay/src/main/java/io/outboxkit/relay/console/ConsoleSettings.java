package io.outboxkit.relay.console;

import io.outboxkit.app.ConfigException;
import io.outboxkit.app.Env;
import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * Who may use the relay's admin port: {@code ADMIN_TOKEN}, the secret every request must carry
 * once it is set (in an {@code Authorization: Bearer} header, or the HTTP-only cookie the console's
 * login form sets), except a GET or HEAD of {@code /health/live} (a liveness probe needs no token),
 * and the login form ({@code /login}) and the static files its page loads ({@code /assets/*},
 * {@code /webjars/*}), which hold nothing of the outbox. With no token, the admin port answers only requests addressed to a loopback
 * host name, and so only a loopback {@code ADMIN_HOST} may go without one.
 *
 * <p>{@link #toString()} never shows the token.
 *
 * @param token the admin token, or null when none is set
 */
public record ConsoleSettings(String token) {

    /** The variable that holds the token. */
    public static final String ADMIN_TOKEN = "ADMIN_TOKEN";
    /** The shortest token accepted: long enough not to be guessed over HTTP. */
    public static final int MIN_TOKEN_LENGTH = 16;

    /**
     * Checks the token's length.
     *
     * @throws ConfigException when the token is shorter than {@value #MIN_TOKEN_LENGTH} characters
     */
    public ConsoleSettings {
        if (token != null && token.length() < MIN_TOKEN_LENGTH) {
            throw new ConfigException(ADMIN_TOKEN + " must be at least " + MIN_TOKEN_LENGTH + " characters, was "
                    + token.length());
        }
    }

    /** No token: for an admin port on a loopback address. */
    public static ConsoleSettings noToken() {
        return new ConsoleSettings(null);
    }

    /**
     * Reads {@code ADMIN_TOKEN} for an admin server on {@code adminHost}.
     *
     * @throws ConfigException when {@code adminHost} is not a loopback address and no token is set,
     *                         or the token is too short
     */
    public static ConsoleSettings from(Env env, String adminHost) {
        ConsoleSettings settings = new ConsoleSettings(env.string(ADMIN_TOKEN, null));
        settings.checkFor(adminHost);
        return settings;
    }

    /**
     * Refuses an admin server on a non-loopback {@code adminHost} without a token.
     *
     * @throws ConfigException saying so in one line
     */
    public void checkFor(String adminHost) {
        if (token == null && !isLoopback(adminHost)) {
            throw new ConfigException("ADMIN_HOST=" + adminHost + " is not a loopback address: set " + ADMIN_TOKEN
                    + " (at least " + MIN_TOKEN_LENGTH + " characters) so that only those who hold it can use the admin port");
        }
    }

    /** Whether a token is set. */
    public boolean hasToken() {
        return token != null;
    }

    private static boolean isLoopback(String host) {
        try {
            for (InetAddress address : InetAddress.getAllByName(host)) {
                if (!address.isLoopbackAddress()) {
                    return false;
                }
            }
            return true;
        } catch (UnknownHostException e) {
            return false;
        }
    }

    @Override
    public String toString() {
        return "ConsoleSettings[token=" + (token == null ? "none" : "(set)") + "]";
    }
}
