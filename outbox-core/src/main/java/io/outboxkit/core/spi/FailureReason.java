package io.outboxkit.core.spi;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.Locale;
import java.util.concurrent.TimeoutException;

/**
 * Why a delivery failed, in three kinds an operator acts on differently: metrics count failures by
 * it ({@code outbox_delivery_failures_total{reason}}). A publisher says which with a
 * {@link PublishException}; any other exception is classified by {@link #of(Throwable)}.
 */
public enum FailureReason {

    /** No answer within the time allowed: the receiving side is slow, or hangs. */
    TIMEOUT,
    /**
     * The receiving side answered, and said no: an HTTP status other than 2xx (the HTTP sink counts
     * 429, 502 and 503 as {@link #UNAVAILABLE} and 408 and 504 as {@link #TIMEOUT}), a broker's refusal
     * (nack, no authorization, a record too large), a message reported failed. Also anything a
     * publisher throws that says nothing about the network (it failed the message itself).
     */
    REFUSED,
    /** The receiving side could not be reached: connection refused, no route, unknown host, broker disconnected. */
    UNAVAILABLE;

    /** The name as it appears in a metric's label: lower case ({@code timeout}, {@code refused}, {@code unavailable}). */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * The reason of {@code failure}: the reason of the first {@link PublishException} in its cause
     * chain; else {@link #TIMEOUT} when an exception of the chain is a timeout (an
     * {@link InterruptedIOException} such as {@code SocketTimeoutException}, a
     * {@link TimeoutException}, or any class named {@code ...TimeoutException}, as the broker
     * clients' are); else {@link #UNAVAILABLE} for an {@link IOException} (the network); else
     * {@link #REFUSED}. Never null; a null {@code failure} is {@link #REFUSED}.
     */
    public static FailureReason of(Throwable failure) {
        FailureReason network = null;
        for (Throwable t : Causes.chain(failure)) {
            if (t instanceof PublishException publish) {
                return publish.reason();
            }
            if (t instanceof InterruptedIOException || t instanceof TimeoutException
                    || t.getClass().getSimpleName().endsWith("TimeoutException")) {
                return TIMEOUT;
            }
            if (network == null && t instanceof IOException) {
                network = UNAVAILABLE;
            }
        }
        return network == null ? REFUSED : network;
    }
}
