package io.outboxkit.relay.console;

import java.nio.ByteBuffer;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * The admin port's answers to requests Jetty refuses before any route sees them (a URI or query
 * string too long, a malformed header): a short page for a browser; for any other client, the
 * JSON error of the handler it replaces. Jetty refuses these while it reads the request line and
 * headers, so the request's {@code Accept} is unknown and Jetty's choice for a request without one,
 * the page, is what curl gets too. The console's security headers either way; never a stack
 * trace. Thread-safe.
 */
final class HttpServerErrors extends ErrorHandler {

    private static final int MAX_REASON = 200;

    private final Layout layout;
    private final Request.Handler json;

    /** Answers browsers with {@code layout}'s error page, and every other client through {@code json}. */
    HttpServerErrors(Layout layout, Request.Handler json) {
        this.layout = layout;
        this.json = json;
    }

    @Override
    public boolean errorPageForMethod(String method) {
        return true;
    }

    @Override
    protected boolean generateAcceptableResponse(Request request, Response response, Callback callback,
                                                 String contentType, List<Charset> charsets, int code, String message,
                                                 Throwable cause) {
        response.getHeaders().put("Content-Security-Policy", Guard.CONTENT_SECURITY_POLICY);
        response.getHeaders().put("X-Content-Type-Options", "nosniff");
        response.getHeaders().put("X-Frame-Options", "DENY");
        if (contentType == null || !contentType.startsWith("text/html")) {
            try {
                return json.handle(request, response, callback);
            } catch (Exception e) {
                callback.failed(e);
                return true;
            }
        }
        String reason = message == null || message.isBlank() ? HttpStatus.getMessage(code) : message;
        reason = reason.length() <= MAX_REASON ? reason : reason.substring(0, MAX_REASON) + "...";
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/html; charset=utf-8");
        byte[] body = layout.error(code, "The request was refused before the console read it: " + reason + ".")
                .getBytes(StandardCharsets.UTF_8);
        response.write(true, ByteBuffer.wrap(body), callback);
        return true;
    }
}
