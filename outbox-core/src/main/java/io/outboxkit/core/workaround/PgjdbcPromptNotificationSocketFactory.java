package io.outboxkit.core.workaround;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import javax.net.SocketFactory;

/**
 * A workaround for the PostgreSQL JDBC driver (pgjdbc): sockets on which a listening connection
 * hands over each notification as soon as it arrives. Name it in the JDBC URL (or data source
 * properties) of the pool an {@link io.outboxkit.core.OutboxPoller} listens through:
 * {@code jdbc:postgresql://host/db?socketFactory=io.outboxkit.core.workaround.PgjdbcPromptNotificationSocketFactory}.
 *
 * <p>Why: after each notification, the driver's {@code getNotifications} waits up to 1 ms for
 * another (a read with a 1 ms timeout), and goes on reading for as long as each next one comes
 * within that millisecond. So every wake-up of a poller comes at least 1 ms late, and under a
 * steady stream of commits (over about 1,000 a second) the poller hears of them only when the
 * stream pauses. Without this factory a poller still delivers everything, only later.
 *
 * <p>What it guarantees: a socket from this factory behaves as a plain one, except that a read
 * under a 1 ms timeout (the driver's check for a pending message) answers "timed out" at once
 * when no byte has arrived, instead of after the millisecond; bytes that arrive later are read
 * by the next read, so nothing is lost or reordered. Other timeouts, and every other read, are
 * untouched, so a pool that does not LISTEN sees no difference. Under TLS the check looks at
 * the encrypted bytes, as the driver's own timed read does. Thread-safe.
 */
public final class PgjdbcPromptNotificationSocketFactory extends SocketFactory {

    /** The timeout, in milliseconds, of the driver's check for a pending message. */
    static final int PEEK_TIMEOUT_MILLIS = 1;

    /** Instantiated by the driver, by name, from the {@code socketFactory} connection property. */
    public PgjdbcPromptNotificationSocketFactory() {
    }

    /** An unconnected socket, as the driver asks for. */
    @Override
    public Socket createSocket() {
        return new PromptPeekSocket();
    }

    /** A socket connected to {@code host}:{@code port}. */
    @Override
    public Socket createSocket(String host, int port) throws IOException {
        return connected(null, new InetSocketAddress(host, port));
    }

    /** A socket bound to {@code localHost}:{@code localPort} and connected to {@code host}:{@code port}. */
    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
        return connected(new InetSocketAddress(localHost, localPort), new InetSocketAddress(host, port));
    }

    /** A socket connected to {@code host}:{@code port}. */
    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
        return connected(null, new InetSocketAddress(host, port));
    }

    /** A socket bound to {@code localAddress}:{@code localPort} and connected to {@code address}:{@code port}. */
    @Override
    public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort)
            throws IOException {
        return connected(new InetSocketAddress(localAddress, localPort), new InetSocketAddress(address, port));
    }

    private static Socket connected(InetSocketAddress local, InetSocketAddress remote) throws IOException {
        Socket socket = new PromptPeekSocket();
        try {
            if (local != null) {
                socket.bind(local);
            }
            socket.connect(remote);
            return socket;
        } catch (IOException e) {
            socket.close();
            throw e;
        }
    }

    /** A socket whose reads under the peek's timeout do not wait when nothing has arrived. */
    private static final class PromptPeekSocket extends Socket {
        private volatile int timeoutMillis;
        private InputStream input;

        @Override
        public synchronized void setSoTimeout(int timeout) throws SocketException {
            super.setSoTimeout(timeout);
            timeoutMillis = timeout;
        }

        @Override
        public synchronized InputStream getInputStream() throws IOException {
            if (input == null) {
                input = new PromptPeekInput(super.getInputStream());
            }
            return input;
        }

        private final class PromptPeekInput extends FilterInputStream {
            PromptPeekInput(InputStream raw) {
                super(raw);
            }

            @Override
            public int read() throws IOException {
                answerPeekAtOnce();
                return super.read();
            }

            @Override
            public int read(byte[] buffer, int offset, int length) throws IOException {
                if (length > 0) { // a read of nothing returns at once anyway
                    answerPeekAtOnce();
                }
                return super.read(buffer, offset, length);
            }

            private void answerPeekAtOnce() throws IOException {
                if (timeoutMillis == PEEK_TIMEOUT_MILLIS && in.available() == 0) {
                    throw new SocketTimeoutException("no byte has arrived (answered without waiting the 1 ms)");
                }
            }
        }
    }
}
