package io.outboxkit.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP proxy the test owns between a client and the broker on 127.0.0.1: {@link #cut()} drops
 * every connection and refuses new ones (the broker is unreachable) until {@link #restore()};
 * {@link #freeze()} keeps the connections but passes no byte (the broker is silent) until
 * {@link #thaw()}. The shared broker itself is never touched. Thread-safe.
 */
public final class TcpProxy implements AutoCloseable {

    private final int target;
    private final ServerSocket server;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final Object gate = new Object();
    private volatile boolean cut;
    private volatile boolean frozen;
    private volatile boolean closed;
    private final AtomicLong heldBack = new AtomicLong();

    /** Listens on a free port of 127.0.0.1 and forwards every connection to {@code target} on 127.0.0.1. */
    public TcpProxy(int target) throws IOException {
        this.target = target;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(this::accept, "tcp-proxy-accept-" + port());
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** The port clients connect to instead of the broker's. */
    public int port() {
        return server.getLocalPort();
    }

    /** A URI for the broker at {@code uri}, through this proxy. */
    public String uri(String uri) {
        return uri.replaceFirst(":\\d+/", ":" + port() + "/");
    }

    /** Drops every open connection and refuses new ones until {@link #restore()}. */
    public void cut() {
        cut = true;
        sockets.forEach(TcpProxy::closeQuietly);
        sockets.clear();
    }

    /** Accepts connections again after {@link #cut()}. */
    public void restore() {
        cut = false;
    }

    /** Keeps the connections open but holds back every byte until {@link #thaw()}. */
    public void freeze() {
        frozen = true;
    }

    /** Passes bytes again after {@link #freeze()}, the held-back ones first. */
    public void thaw() {
        synchronized (gate) {
            frozen = false;
            gate.notifyAll();
        }
    }

    /** The bytes that arrived while frozen, not passed on. */
    public long heldBack() {
        return heldBack.get();
    }

    private void accept() {
        while (!closed) {
            try {
                Socket client = server.accept();
                if (cut) {
                    client.close();
                    continue;
                }
                Socket broker = new Socket(InetAddress.getLoopbackAddress(), target);
                sockets.add(client);
                sockets.add(broker);
                pump(client, broker);
                pump(broker, client);
            } catch (IOException e) {
                // closed, or a connection that failed at once: the client sees it
            }
        }
    }

    private void pump(Socket from, Socket to) {
        Thread thread = new Thread(() -> {
            byte[] buffer = new byte[64 * 1024];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
                    synchronized (gate) {
                        if (frozen) {
                            heldBack.addAndGet(n);
                        }
                        while (frozen && !closed) {
                            gate.wait();
                        }
                    }
                    out.write(buffer, 0, n);
                    out.flush();
                }
            } catch (IOException | InterruptedException e) {
                // one side went away: end both
            } finally {
                closeQuietly(from);
                closeQuietly(to);
            }
        }, "tcp-proxy-pump-" + port());
        thread.setDaemon(true);
        thread.start();
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException e) {
            // already closed
        }
    }

    /** Stops listening and drops every connection. */
    @Override
    public void close() throws IOException {
        closed = true;
        thaw();
        server.close();
        sockets.forEach(TcpProxy::closeQuietly);
    }
}
