package io.outboxkit.core.spi;

/**
 * A message a {@link MessagePublisher} did not hand to its sink at all, through no fault of the
 * message (the publisher is stopping, say), for {@link MessagePublisher#publishAll} to report among
 * its failures: the poller gives the message back without counting an attempt, claimable again at
 * once by any poller, instead of recording a failed delivery (which, on its last attempt, would
 * make it DEAD). Listeners and failure metrics are not told of it. Only for a message that surely
 * never left: one whose fate is unknown is a failure like any other.
 */
public final class NotSentException extends PublishException {

    private static final long serialVersionUID = 1L;

    /** Not sent, for the reason {@code message} gives. */
    public NotSentException(String message) {
        super(FailureReason.UNAVAILABLE, message);
    }
}
