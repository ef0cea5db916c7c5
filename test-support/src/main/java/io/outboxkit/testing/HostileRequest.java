package io.outboxkit.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * One request of a hostile-input test: a method, a request target, header fields and a body sent
 * as they are through {@link RawHttp}, or raw bytes for a request that is malformed below HTTP's
 * syntax (a Content-Length that lies, a broken chunked body). Immutable.
 *
 * @param method  the method, or null for a raw request
 * @param target  the request target, sent as UTF-8 bytes unchanged, or null for a raw request
 * @param headers header name, value pairs
 * @param body    the body (with its true Content-Length), or null for none; for a raw request, all its bytes
 */
public record HostileRequest(String method, String target, List<String> headers, byte[] body) {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** What a Java stack trace, an exception dump or a JSON parser's internals look like in a body. */
    private static final Pattern STACK_TRACE = Pattern.compile(
            "\\tat |\\bat [a-z][\\w$]*(\\.[\\w$]+)+\\(|\\.java:\\d+|Exception:|Caused by:|org\\.eclipse\\.jetty\\.|<html"
            // a JSON parser's own words: its settings, class names and source description, which no client can act on
            + "|com\\.fasterxml\\.|`\\w+(Feature|Constraints)\\.|Feature '\\w+'|\\[Source: |REDACTED");
    private static final int MAX_SHOWN = 400;

    /** A request of {@code method} on {@code target} with {@code headers} (name, value, ...) and {@code body}. */
    public static HostileRequest of(String method, String target, byte[] body, String... headers) {
        return new HostileRequest(method, target, List.of(headers), body);
    }

    /** A request sent as exactly these bytes. */
    public static HostileRequest raw(String bytes) {
        return new HostileRequest(null, null, List.of(), bytes.getBytes(StandardCharsets.UTF_8));
    }

    /** The first value of header {@code name}, or null. */
    public String header(String name) {
        for (int i = 0; i + 1 < headers.size(); i += 2) {
            if (headers.get(i).equalsIgnoreCase(name)) {
                return headers.get(i + 1);
            }
        }
        return null;
    }

    /** Whether it is a well-formed HTTP request of {@code method} on {@code target} exactly. */
    public boolean is(String method, String target) {
        return method.equals(this.method) && target.equals(this.target);
    }

    /** Sends it with {@code http}. */
    public RawHttp.Response send(RawHttp http) {
        return method == null ? http.send(body) : http.request(method, target, body, headers.toArray(String[]::new));
    }

    /** What was sent, readable in a failure message: control and non-ASCII characters escaped, long bodies cut. */
    public String describe() {
        if (method == null) {
            return "raw request " + show(body);
        }
        List<String> shown = new ArrayList<>();
        for (int i = 0; i + 1 < headers.size(); i += 2) {
            shown.add(headers.get(i) + ": " + show(headers.get(i + 1).getBytes(StandardCharsets.UTF_8)));
        }
        return method + " " + show(target.getBytes(StandardCharsets.UTF_8)) + " " + shown + " body "
                + (body == null ? "(none)" : body.length + " bytes " + show(body));
    }

    /**
     * Why {@code response} is not a proper answer to a client's mistake, or null when it is one: a
     * 4xx whose body is exactly {@code {"error": "<text>"}} (JSON), with no stack trace in it.
     */
    public static String whyNotAJsonClientError(RawHttp.Response response) {
        if (response.status() < 400 || response.status() > 499) {
            return "status " + response.status() + ", not a 4xx";
        }
        String type = response.header("Content-Type").orElse("");
        if (!type.toLowerCase(Locale.ROOT).startsWith("application/json")) {
            return "Content-Type '" + type + "', not application/json";
        }
        if (STACK_TRACE.matcher(response.text()).find()) {
            return "a stack trace or internals in the body";
        }
        try {
            JsonNode body = JSON.readTree(response.body());
            if (body == null || !body.isObject() || body.size() != 1 || !body.path("error").isTextual()
                    || body.path("error").asText().isBlank()) {
                return "a body that is not {\"error\": \"...\"}";
            }
        } catch (IOException e) {
            return "a body that is not JSON";
        }
        return null;
    }

    /** Bytes as text: printable ASCII as it is, anything else as \xNN. */
    public static String show(byte[] bytes) {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < bytes.length && text.length() < MAX_SHOWN; i++) {
            int b = bytes[i] & 0xff;
            if (b >= 0x20 && b < 0x7f && b != '\\') {
                text.append((char) b);
            } else {
                text.append(String.format("\\x%02x", b));
            }
        }
        return text.length() >= MAX_SHOWN ? text + "...(" + bytes.length + " bytes)" : text.toString();
    }
}
