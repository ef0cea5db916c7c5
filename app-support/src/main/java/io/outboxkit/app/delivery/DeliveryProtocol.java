package io.outboxkit.app.delivery;

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
    /** The largest request body a consumer takes: 1 MiB. */
    public static final int MAX_REQUEST_BYTES = 1024 * 1024;

    private DeliveryProtocol() {
    }
}
