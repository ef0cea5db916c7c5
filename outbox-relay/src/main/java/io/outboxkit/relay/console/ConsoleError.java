package io.outboxkit.relay.console;

/**
 * A request the console refuses: answered with {@code status} and a page (or JSON, for a client
 * that does not ask for HTML) saying {@code message}. The message is shown to the client, so it
 * names what is wrong with the request and nothing of the server's internals.
 */
final class ConsoleError extends RuntimeException {

    private static final long serialVersionUID = 1L;
    private final int status;

    ConsoleError(int status, String message) {
        super(message, null, false, false);
        this.status = status;
    }

    static ConsoleError badRequest(String message) {
        return new ConsoleError(400, message);
    }

    static ConsoleError notFound(String message) {
        return new ConsoleError(404, message);
    }

    int status() {
        return status;
    }
}
