package io.outboxkit.relay.console;

import io.outboxkit.core.spi.Texts;
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
 * The admin port's answers to requests Jetty fails outside the routes: a short page for a client
 * whose {@code Accept} asks for HTML; for any other, the JSON error of the handler it replaces.
 * What Jetty refuses while it reads the request line and headers (a URI or query string too long:
 * 414, headers too large: 431, a malformed request line or header: 400) has no {@code Accept} read,
 * so it is answered as JSON, a browser's request too: the admin port is a JSON API to the probes
 * and scripts that call it, and a browser shows the error's text. The console's security headers
 * either way; never a stack trace. Thread-safe.
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
        if (!asksForPage(request, contentType)) {
            try {
                return json.handle(request, response, callback);
            } catch (Exception e) {
                callback.failed(e);
                return true;
            }
        }
        String reason = Texts.abbreviate(message == null || message.isBlank() ? HttpStatus.getMessage(code) : message,
                MAX_REASON);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/html; charset=utf-8");
        byte[] body = layout.error(code, "The request was refused before the console read it: " + reason + ".")
                .getBytes(StandardCharsets.UTF_8);
        response.write(true, ByteBuffer.wrap(body), callback);
        return true;
    }

    /**
     * Whether the client asked for HTML. Jetty offers {@code text/html} for a request without an
     * {@code Accept} too, and a request it refused before reading its headers has none.
     */
    private static boolean asksForPage(Request request, String contentType) {
        return contentType != null && contentType.startsWith("text/html") && request.getHeaders().contains(HttpHeader.ACCEPT);
    }
}
