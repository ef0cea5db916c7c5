package io.outboxkit.nats;

import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.AckPolicy;
import io.nats.client.api.ConsumerConfiguration;
import io.nats.client.api.ConsumerInfo;
import io.nats.client.api.DeliverPolicy;
import io.nats.client.api.StreamState;
import java.io.IOException;
import java.time.Duration;
import java.util.Objects;
import org.slf4j.Logger;

/**
 * Sets up a source's durable pull consumer: explicit acks, the source's ack wait and ack-pending
 * limit, no delivery limit of the server's (the source counts attempts and dead-letters itself).
 *
 * <p>A consumer that still has unacknowledged messages, left by a source that stopped or crashed
 * with messages in hand, is restarted at its ack floor: JetStream would redeliver those messages
 * only after their ack wait or delay, while it delivers later messages at once, so later messages
 * of their aggregates could overtake them. Restarted at the first unacknowledged message, the
 * consumer delivers everything from there in stream order again; the messages acknowledged after
 * that one come again too, and an idempotent receiver skips them. The messages dead-lettered after
 * it come again too, and the source must know them before the restart (see {@link BeforeRestart}).
 * A consumer that was deleted is created again from the stream's first message, which is such a
 * restart too: everything still in the stream comes again, dead-lettered messages included.
 */
final class Consumers {

    /** JetStream's error code for an unknown consumer. */
    static final int CONSUMER_NOT_FOUND = 10014;

    private Consumers() {
    }

    /**
     * What must be learnt before a consumer is restarted at stream sequence {@code from}, or created
     * anew from the stream's first message {@code from}, while a failure still changes nothing.
     */
    @FunctionalInterface
    interface BeforeRestart {
        void at(long from) throws IOException, JetStreamApiException;
    }

    /** What a source needs of its consumer. */
    record Wanted(String stream, String name, String filterSubject, Duration ackWait, int maxAckPending) {

        ConsumerConfiguration.Builder configuration() {
            return ConsumerConfiguration.builder()
                    .durable(name)
                    .filterSubject(filterSubject)
                    .ackPolicy(AckPolicy.Explicit)
                    .ackWait(ackWait)
                    .maxAckPending(maxAckPending)
                    .maxDeliver(-1);
        }
    }

    /**
     * Creates the consumer (from the stream's first message), or checks an existing one and restarts
     * it at its ack floor when it has unacknowledged messages; either after {@code beforeRestart}
     * returned for the first message it will deliver (when it throws, the consumer is left as it
     * was: still absent, or not restarted). Creating it for an empty stream asks nothing.
     *
     * @throws IllegalStateException naming what is wrong with an existing consumer of that name
     */
    static void ensure(JetStreamManagement jsm, Wanted wanted, String owner, Logger log, BeforeRestart beforeRestart)
            throws IOException, JetStreamApiException {
        ConsumerInfo info = infoOrNull(jsm, wanted);
        if (info == null) {
            // A consumer deleted (by an operator, or under a running source) left no ack floor: all
            // the stream still holds comes again, what it had dead-lettered too.
            StreamState state = jsm.getStreamInfo(wanted.stream()).getStreamState();
            if (state.getMsgCount() > 0) {
                beforeRestart.at(state.getFirstSequence());
            }
            jsm.addOrUpdateConsumer(wanted.stream(), wanted.configuration().deliverPolicy(DeliverPolicy.All).build());
            log.info("[{}] created NATS consumer {} on stream {} (subjects {})", owner, wanted.name(), wanted.stream(),
                    wanted.filterSubject());
            return;
        }
        ConsumerConfiguration have = info.getConsumerConfiguration();
        String problem = have.getDeliverSubject() != null ? "is a push consumer, not a pull consumer"
                : have.getAckPolicy() != AckPolicy.Explicit ? "has ack policy " + have.getAckPolicy() + ", not explicit"
                : !Objects.equals(have.getFilterSubject(), wanted.filterSubject())
                        ? "takes subjects " + (have.getFilterSubject() == null ? "(all of the stream's)" : have.getFilterSubject())
                                + ", not " + wanted.filterSubject()
                : null;
        if (problem != null) {
            throw new IllegalStateException("NATS consumer " + wanted.name() + " on stream " + wanted.stream() + " "
                    + problem + ": give this source another consumer name, or delete that consumer");
        }
        if (info.getNumAckPending() > 0) {
            long from = info.getAckFloor().getStreamSequence() + 1;
            beforeRestart.at(from);
            log.info("[{}] NATS consumer {} has {} unacknowledged message(s) from an earlier run; restarting it at stream "
                    + "sequence {} so that they come again in stream order (messages acknowledged after it come again "
                    + "too, and are skipped as duplicates)", owner, wanted.name(), info.getNumAckPending(), from);
            jsm.deleteConsumer(wanted.stream(), wanted.name());
            jsm.addOrUpdateConsumer(wanted.stream(), wanted.configuration()
                    .deliverPolicy(DeliverPolicy.ByStartSequence).startSequence(from).build());
        } else if (!have.getAckWait().equals(wanted.ackWait()) || have.getMaxAckPending() != wanted.maxAckPending()
                || have.getMaxDeliver() > 0) {
            jsm.addOrUpdateConsumer(wanted.stream(), ConsumerConfiguration.builder(have)
                    .ackWait(wanted.ackWait()).maxAckPending(wanted.maxAckPending()).maxDeliver(-1).build());
            log.info("[{}] updated NATS consumer {}: ackWait={}, maxAckPending={}", owner, wanted.name(),
                    wanted.ackWait(), wanted.maxAckPending());
        }
    }

    /**
     * The consumer's ack floor: the stream sequence at or below which every message it delivered was
     * acknowledged or terminated, by whichever source of the consumer; none of them comes again.
     */
    static long ackFloor(JetStreamManagement jsm, Wanted wanted) throws IOException, JetStreamApiException {
        return jsm.getConsumerInfo(wanted.stream(), wanted.name()).getAckFloor().getStreamSequence();
    }

    /** Whether the consumer exists (false when it was deleted under a running source). */
    static boolean exists(JetStreamManagement jsm, Wanted wanted) throws IOException, JetStreamApiException {
        return infoOrNull(jsm, wanted) != null;
    }

    private static ConsumerInfo infoOrNull(JetStreamManagement jsm, Wanted wanted) throws IOException, JetStreamApiException {
        try {
            return jsm.getConsumerInfo(wanted.stream(), wanted.name());
        } catch (JetStreamApiException e) {
            if (e.getApiErrorCode() == CONSUMER_NOT_FOUND) {
                return null;
            }
            throw e;
        }
    }
}
