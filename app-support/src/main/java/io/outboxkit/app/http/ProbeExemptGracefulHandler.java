package io.outboxkit.app.http;

import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.eclipse.jetty.util.Callback;

/**
 * Jetty's graceful stop, except that the health checks are still answered while it drains: a
 * probe must hear "stopping" (readiness) and "alive" (liveness) from a service finishing its
 * requests, where the plain handler refuses every new request with a bare 503.
 */
final class ProbeExemptGracefulHandler extends GracefulHandler {

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        if (isShutdown() && Health.isProbe(Request.getPathInContext(request))) {
            Handler next = getHandler();
            return next != null && next.handle(request, response, callback);
        }
        return super.handle(request, response, callback);
    }
}
