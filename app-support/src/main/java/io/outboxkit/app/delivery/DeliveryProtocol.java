package io.outboxkit.app.delivery;

import io.outboxkit.core.OutboxWriter;

/**
 * The HTTP protocol between the relay and a consumer, named once for both sides.
 *
 * <p>Single delivery: a POST of one envelope ({@link io.outboxkit.app.MessageEnvelope}) to the
 * consumer's URL, the message's id also in the {@value #MESSAGE_ID_HEADER} header; a 2xx answer
 * {@code {"status": "processed" | "duplicate"}} is a delivery.
 *
 * <p>Batch delivery: a POST of {@code {"messages": [envelope, ...]}}, 1 to
 * {@value #MAX_BATCH_MESSAGES} of them, to the consumer's URL + {@value #BATCH_PATH}; the 2xx
 * answer {@code {"results": [{"id", "status", "error"?}, ...]}} reports each message
 * {@code processed}, {@code duplicate} (both delivered) or {@code failed} (with an error, to retry).
 */
public final class DeliveryProtocol {

    /** Appended to the consumer's URL for batches. */
    public static final String BATCH_PATH = "/batch";
    /** The header that carries a single delivery's message id. */
    public static final String MESSAGE_ID_HEADER = "Message-Id";
    /** A batch request's field: the array of envelopes. */
    public static final String MESSAGES = "messages";
    /** A batch answer's field: the array of results. */
    public static final String RESULTS = "results";
    /** A result's field: the message id. */
    public static final String ID = "id";
    /** A result's field, and a single answer's: what became of the message. */
    public static final String STATUS = "status";
    /** A failed result's field: why. */
    public static final String ERROR = "error";
    /** Status: applied now. */
    public static final String PROCESSED = "processed";
    /** Status: applied before, skipped now. */
    public static final String DUPLICATE = "duplicate";
    /** Status: not applied and not recorded; send it again. */
    public static final String FAILED = "failed";
    /** The most messages a consumer takes in one batch. */
    public static final int MAX_BATCH_MESSAGES = 1_000;
    /**
     * Room in a request for what surrounds one message's payload: its envelope's other fields (an
     * id, three names of at most 200 characters, escaped, a time) and its headers (a trace context
     * and what the application adds, at most {@link OutboxWriter#DEFAULT_MAX_HEADER_BYTES} of JSON
     * unless the writer's limit is raised): 64 KiB.
     */
    public static final int ENVELOPE_ROOM_BYTES = 64 * 1024;
    /**
     * The largest request body a consumer takes: twice {@link OutboxWriter#DEFAULT_MAX_PAYLOAD_BYTES}
     * plus {@link #ENVELOPE_ROOM_BYTES}, 2,162,688 bytes, so that any payload the writer accepts with
     * its default limit is taken. Twice, because the writer counts the payload as the application
     * wrote it, but the relay sends it as PostgreSQL's {@code jsonb} prints it, with a space after
     * every {@code :} and {@code ,}: a compact array of one-digit numbers ({@code [1,1,...]}) comes
     * back half as long again, the most that spacing adds. (A number written with an exponent is
     * printed with all its digits, {@code 1e1000} as 1,001 of them: no factor covers that.) Still a
     * bound: a client cannot make the consumer hold more than this for one request.
     */
    public static final int MAX_REQUEST_BYTES = 2 * OutboxWriter.DEFAULT_MAX_PAYLOAD_BYTES + ENVELOPE_ROOM_BYTES;

    private DeliveryProtocol() {
    }
}
