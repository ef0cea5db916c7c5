package io.outboxkit.bench;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The bench's HTTP client for {@code POST /orders}: a persistent HTTP/1.1 connection per calling
 * thread, the request written as bytes, the status read and the body skipped. The load generator
 * shares the machine's two cores with the system it measures, so it must take little of them,
 * and the JDK's HttpClient, which hands each request between threads several times, takes more.
 */
final class PlainHttp implements AutoCloseable {

    private static final int MAX_HEADER_BYTES = 16 * 1024;

    private final URI uri;
    private final byte[] requestHead;
    private final Queue<Connection> all = new ConcurrentLinkedQueue<>();
    private final ThreadLocal<Connection> current = new ThreadLocal<>();

    PlainHttp(URI uri) {
        this.uri = uri;
        this.requestHead = ("POST " + uri.getRawPath() + " HTTP/1.1\r\nHost: " + uri.getHost() + ":" + uri.getPort()
                + "\r\nContent-Type: application/json\r\nContent-Length: ").getBytes(StandardCharsets.US_ASCII);
    }

    /** POSTs {@code json}; returns the response's status, or -1 when the exchange failed (the connection is then dropped). */
    int post(String json) {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        Connection connection = current.get();
        try {
            if (connection == null) {
                connection = new Connection(uri);
                all.add(connection);
                current.set(connection);
            }
            return connection.exchange(requestHead, body);
        } catch (IOException e) {
            if (connection != null) {
                connection.close();
                all.remove(connection);
                current.remove();
            }
            return -1;
        }
    }

    @Override
    public void close() {
        all.forEach(Connection::close);
        all.clear();
    }

    private static final class Connection {
        private final Socket socket;
        private final OutputStream out;
        private final InputStream in;

        Connection(URI uri) throws IOException {
            socket = new Socket();
            socket.setTcpNoDelay(true);
            socket.setSoTimeout(10_000);
            socket.connect(new InetSocketAddress(uri.getHost(), uri.getPort()), 5_000);
            out = socket.getOutputStream();
            in = new BufferedInputStream(socket.getInputStream(), 8192);
        }

        int exchange(byte[] head, byte[] body) throws IOException {
            ByteArrayOutputStream request = new ByteArrayOutputStream(head.length + body.length + 16);
            request.write(head);
            request.write((body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            request.write(body);
            out.write(request.toByteArray());
            out.flush();
            String headers = readHead();
            int status = Integer.parseInt(headers.substring(9, 12));
            String lower = headers.toLowerCase(Locale.ROOT);
            if (lower.contains("\r\ntransfer-encoding: chunked")) {
                skipChunked();
            } else {
                skip(contentLength(lower));
            }
            if (lower.contains("\r\nconnection: close")) {
                throw new IOException("the server closes the connection"); // the caller reconnects
            }
            return status;
        }

        private String readHead() throws IOException {
            StringBuilder head = new StringBuilder(256);
            int matched = 0;
            while (matched < 4) {
                int b = in.read();
                if (b < 0) {
                    throw new IOException("connection closed before the response's headers ended");
                }
                head.append((char) b);
                matched = (b == '\r' && (matched == 0 || matched == 2)) || (b == '\n' && (matched == 1 || matched == 3))
                        ? matched + 1 : (b == '\r' ? 1 : 0);
                if (head.length() > MAX_HEADER_BYTES) {
                    throw new IOException("response headers longer than " + MAX_HEADER_BYTES + " bytes");
                }
            }
            return head.toString();
        }

        private static long contentLength(String lowerHeaders) throws IOException {
            int at = lowerHeaders.indexOf("\r\ncontent-length:");
            if (at < 0) {
                throw new IOException("a response without Content-Length or chunked encoding");
            }
            int end = lowerHeaders.indexOf("\r\n", at + 2);
            return Long.parseLong(lowerHeaders.substring(at + "\r\ncontent-length:".length(), end).trim());
        }

        private void skipChunked() throws IOException {
            while (true) {
                StringBuilder line = new StringBuilder();
                for (int b = in.read(); b != '\n'; b = in.read()) {
                    if (b < 0) {
                        throw new IOException("connection closed inside a chunked body");
                    }
                    if (b != '\r') {
                        line.append((char) b);
                    }
                }
                int semicolon = line.indexOf(";");
                long size = Long.parseLong((semicolon < 0 ? line : line.substring(0, semicolon)).toString().trim(), 16);
                skip(size + 2); // the chunk and its CRLF; the last chunk's CRLF ends the body (no trailers sent here)
                if (size == 0) {
                    return;
                }
            }
        }

        private void skip(long bytes) throws IOException {
            long left = bytes;
            while (left > 0) {
                long skipped = in.skip(left);
                if (skipped <= 0) {
                    if (in.read() < 0) {
                        throw new IOException("connection closed inside the response's body");
                    }
                    skipped = 1;
                }
                left -= skipped;
            }
        }

        void close() {
            try {
                socket.close();
            } catch (IOException e) {
                // closing a connection we no longer use: nothing to do
            }
        }
    }
}
