package io.outboxkit.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * An HTTP/1.1 client over a plain socket, for requests a well-behaved client refuses to send:
 * any method, any request target (raw bytes, bad percent-encoding), any header name or value,
 * a Content-Length that lies, a body that is not valid UTF-8. Each request has its own
 * connection ({@code Connection: close}); the answer is read to the end. Thread-safe.
 */
public final class RawHttp {

    private static final int TIMEOUT_MILLIS = 15_000;

    private final String host;
    private final int port;

    /** A client of the server on {@code host}:{@code port}. */
    public RawHttp(String host, int port) {
        this.host = host;
        this.port = port;
    }

    /**
     * An answer.
     *
     * @param status  the status code
     * @param headers the header fields, names in lower case
     * @param body    the body, de-chunked
     */
    public record Response(int status, Map<String, List<String>> headers, byte[] body) {

        /** The first value of header {@code name}. */
        public Optional<String> header(String name) {
            List<String> values = headers.get(name.toLowerCase(Locale.ROOT));
            return values == null || values.isEmpty() ? Optional.empty() : Optional.of(values.get(0));
        }

        /** The body as UTF-8 text. */
        public String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        @Override
        public String toString() {
            return status + " " + headers + " " + text();
        }
    }

    /**
     * Sends {@code method target HTTP/1.1} with a Host header, {@code Connection: close},
     * {@code headers} (name, value pairs, sent as UTF-8 bytes, unchecked), and {@code body} with its
     * true Content-Length when not null.
     */
    public Response request(String method, String target, byte[] body, String... headers) {
        StringBuilder head = new StringBuilder();
        head.append(method).append(' ').append(target).append(" HTTP/1.1\r\n")
                .append("Host: ").append(host).append(':').append(port).append("\r\n")
                .append("Connection: close\r\n");
        for (int i = 0; i + 1 < headers.length; i += 2) {
            head.append(headers[i]).append(": ").append(headers[i + 1]).append("\r\n");
        }
        if (body != null) {
            head.append("Content-Length: ").append(body.length).append("\r\n");
        }
        head.append("\r\n");
        ByteArrayOutputStream raw = new ByteArrayOutputStream();
        raw.writeBytes(head.toString().getBytes(StandardCharsets.UTF_8));
        if (body != null) {
            raw.writeBytes(body);
        }
        return send(raw.toByteArray());
    }

    /** Sends {@code request} exactly as given and reads the answer. */
    public Response send(byte[] request) {
        byte[] answer;
        try (Socket socket = new Socket(host, port)) {
            socket.setSoTimeout(TIMEOUT_MILLIS);
            try {
                OutputStream out = socket.getOutputStream();
                out.write(request);
                out.flush();
                socket.shutdownOutput();
            } catch (SocketException e) {
                // The server may answer and close before reading all of a request it refuses.
            }
            answer = readAll(socket.getInputStream());
        } catch (IOException e) {
            throw new UncheckedIOException("no answer from " + host + ":" + port, e);
        }
        return parse(answer);
    }

    /** Reads to the end; a reset after some bytes arrived (the server closing on unread input) ends it too. */
    private static byte[] readAll(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buffer = new byte[8192];
        try {
            for (int n; (n = in.read(buffer)) >= 0; ) {
                out.write(buffer, 0, n);
            }
        } catch (SocketException e) {
            if (out.size() == 0) {
                throw e;
            }
        }
        return out.toByteArray();
    }

    private static Response parse(byte[] answer) {
        int end = indexOf(answer, "\r\n\r\n".getBytes(StandardCharsets.US_ASCII), 0);
        if (end < 0) {
            throw new IllegalStateException("not an HTTP answer: " + new String(answer, StandardCharsets.ISO_8859_1));
        }
        String[] lines = new String(answer, 0, end, StandardCharsets.ISO_8859_1).split("\r\n");
        String[] statusLine = lines[0].split(" ", 3);
        if (statusLine.length < 2 || !statusLine[0].startsWith("HTTP/")) {
            throw new IllegalStateException("not an HTTP status line: " + lines[0]);
        }
        Map<String, List<String>> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon > 0) {
                headers.computeIfAbsent(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
                        .add(lines[i].substring(colon + 1).trim());
            }
        }
        byte[] body = java.util.Arrays.copyOfRange(answer, end + 4, answer.length);
        List<String> encoding = headers.getOrDefault("transfer-encoding", List.of());
        if (encoding.stream().anyMatch(v -> v.toLowerCase(Locale.ROOT).contains("chunked"))) {
            body = dechunk(body);
        }
        return new Response(Integer.parseInt(statusLine[1]), headers, body);
    }

    private static byte[] dechunk(byte[] chunked) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int at = 0;
        while (at < chunked.length) {
            int lineEnd = indexOf(chunked, "\r\n".getBytes(StandardCharsets.US_ASCII), at);
            if (lineEnd < 0) {
                break;
            }
            String sizeText = new String(chunked, at, lineEnd - at, StandardCharsets.US_ASCII).split(";")[0].trim();
            int size = Integer.parseInt(sizeText, 16);
            if (size == 0) {
                break;
            }
            out.write(chunked, lineEnd + 2, Math.min(size, chunked.length - lineEnd - 2));
            at = lineEnd + 2 + size + 2;
        }
        return out.toByteArray();
    }

    private static int indexOf(byte[] bytes, byte[] pattern, int from) {
        outer:
        for (int i = from; i <= bytes.length - pattern.length; i++) {
            for (int j = 0; j < pattern.length; j++) {
                if (bytes[i + j] != pattern[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
