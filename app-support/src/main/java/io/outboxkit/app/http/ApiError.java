package io.outboxkit.app.http;

/**
 * A client error to answer with {@code status} and {@code {"error": message}}. The message is
 * shown to the client, so it says what is wrong with the request and nothing about internals.
 */
public final class ApiError extends RuntimeException {

    private static final long serialVersionUID = 1L;
    private final int status;

    /** An error with HTTP status {@code status} (4xx) and a message for the client. */
    public ApiError(int status, String message) {
        super(message, null, false, false);
        this.status = status;
    }

    /** 400 Bad Request. */
    public static ApiError badRequest(String message) {
        return new ApiError(400, message);
    }

    /** 404 Not Found. */
    public static ApiError notFound(String message) {
        return new ApiError(404, message);
    }

    /** 409 Conflict. */
    public static ApiError conflict(String message) {
        return new ApiError(409, message);
    }

    /** The HTTP status to answer with. */
    public int status() {
        return status;
    }
}
