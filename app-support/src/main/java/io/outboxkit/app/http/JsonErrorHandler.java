package io.outboxkit.app.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.outboxkit.app.Jsons;
import io.outboxkit.core.spi.Texts;
import java.nio.ByteBuffer;
import java.nio.charset.Charset;
import java.util.List;
import java.util.Map;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * Jetty's own error answers (a request it refuses before any route sees it: a malformed URI or
 * header, a bad percent-encoding, an invalid Content-Length, a URI or headers too long) as
 * {@code {"error": "..."}} JSON instead of Jetty's HTML page, whatever the method or Accept
 * header. The message is Jetty's short reason, never a stack trace. Thread-safe.
 */
final class JsonErrorHandler extends ErrorHandler {

    private static final int MAX_REASON = 200;

    @Override
    public boolean errorPageForMethod(String method) {
        return true;
    }

    @Override
    protected boolean generateAcceptableResponse(Request request, Response response, Callback callback,
                                                 String contentType, List<Charset> charsets, int code, String message,
                                                 Throwable cause) {
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.write(true, ByteBuffer.wrap(body(code, message)), callback);
        return true;
    }

    private static byte[] body(int code, String message) {
        String reason = Texts.abbreviate(message == null || message.isBlank() ? HttpStatus.getMessage(code) : message,
                MAX_REASON);
        try {
            return Jsons.mapper().writeValueAsBytes(Map.of("error", "request refused by the HTTP server: " + reason));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("an error message did not serialize to JSON", e);
        }
    }
}
