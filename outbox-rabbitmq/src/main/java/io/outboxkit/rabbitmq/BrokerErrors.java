package io.outboxkit.rabbitmq;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.AuthenticationFailureException;
import com.rabbitmq.client.Method;
import com.rabbitmq.client.PossibleAuthenticationFailureException;
import com.rabbitmq.client.ShutdownSignalException;
import io.outboxkit.core.spi.Causes;
import io.outboxkit.core.spi.FailureReason;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.util.List;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.SSLException;

/** What went wrong with the broker, in words an operator can act on, and whether trying again can help. */
final class BrokerErrors {

    private BrokerErrors() {
    }

    /** A one-line account of {@code error}: the broker's own reply where it gave one. */
    static String describe(Throwable error) {
        List<Throwable> chain = Causes.chain(error);
        for (Throwable t : chain) {
            if (t instanceof AuthenticationFailureException || t instanceof PossibleAuthenticationFailureException) {
                return "the broker refused the credentials (" + t.getMessage() + ")";
            }
            if (t instanceof ShutdownSignalException signal && signal.getReason() != null) {
                return reply(signal.getReason());
            }
            if (t instanceof java.io.EOFException) {
                return "the connection was closed from the other end";
            }
            if (t instanceof ConnectException) {
                return "connection refused: nothing listens at that address, or a firewall rejects it";
            }
            if (t instanceof UnknownHostException) {
                return "unknown host " + t.getMessage();
            }
            if (t instanceof SocketTimeoutException || t instanceof TimeoutException) {
                return "no answer in time (" + t.getMessage() + ")";
            }
            if (t instanceof SSLException) {
                return "TLS failed: " + t.getMessage();
            }
        }
        Throwable root = chain.get(chain.size() - 1);
        String text = root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
        return root == error || error.getMessage() == null ? text : error.getMessage() + ": " + text;
    }

    /**
     * Whether {@code error} is a refusal that trying again will not cure: credentials, a virtual
     * host, permissions, or an exchange or queue that exists with other settings.
     */
    static boolean isPermanent(Throwable error) {
        for (Throwable t : Causes.chain(error)) {
            if (t instanceof AuthenticationFailureException || t instanceof PossibleAuthenticationFailureException) {
                return true;
            }
            if (t instanceof ShutdownSignalException signal && signal.getReason() != null) {
                int code = replyCode(signal.getReason());
                return code == AMQP.ACCESS_REFUSED || code == AMQP.NOT_ALLOWED || code == AMQP.PRECONDITION_FAILED
                        || code == AMQP.NOT_FOUND;
            }
        }
        return false;
    }

    /**
     * The kind of failure {@code error} makes of a publish: refused when {@link #isPermanent}, a
     * timeout when its causes say so (see {@link FailureReason#of}), else unavailable.
     */
    static FailureReason reason(Throwable error) {
        if (isPermanent(error)) {
            return FailureReason.REFUSED;
        }
        return FailureReason.of(error) == FailureReason.TIMEOUT ? FailureReason.TIMEOUT : FailureReason.UNAVAILABLE;
    }

    private static String reply(Method reason) {
        if (reason instanceof AMQP.Channel.Close close) {
            return close.getReplyText() + " (" + close.getReplyCode() + ")";
        }
        if (reason instanceof AMQP.Connection.Close close) {
            return close.getReplyText() + " (" + close.getReplyCode() + ")";
        }
        return reason.protocolMethodName();
    }

    private static int replyCode(Method reason) {
        if (reason instanceof AMQP.Channel.Close close) {
            return close.getReplyCode();
        }
        if (reason instanceof AMQP.Connection.Close close) {
            return close.getReplyCode();
        }
        return 0;
    }
}
