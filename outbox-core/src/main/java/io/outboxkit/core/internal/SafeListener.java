package io.outboxkit.core.internal;

import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.spi.FailureReason;
import io.outboxkit.core.spi.OutboxListener;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The listeners of a poller or a handler as one: each is told in turn, and one that throws is
 * logged and ignored, so that it never changes what happens to a message nor keeps the others from
 * being told. That holds for an {@link Error} too (a {@link LinkageError} from a metrics library
 * of another version, an {@link AssertionError}, a {@link StackOverflowError}); only the other
 * {@link VirtualMachineError}s ({@link OutOfMemoryError}, ...) pass through, the JVM being in no
 * state to go on as if nothing happened. Each listener's first exception is a WARN and its first
 * error an ERROR; what follows from it is logged at DEBUG. Thread-safe.
 */
public final class SafeListener implements OutboxListener {

    private static final Logger LOG = LoggerFactory.getLogger(SafeListener.class);

    private final List<Guarded> listeners;

    private SafeListener(List<OutboxListener> listeners) {
        this.listeners = listeners.stream().map(Guarded::new).toList();
    }

    /** A listener and whether it was logged failing yet, by an exception and by an error. */
    private record Guarded(OutboxListener listener, AtomicBoolean threwException, AtomicBoolean threwError) {
        Guarded(OutboxListener listener) {
            this(listener, new AtomicBoolean(), new AtomicBoolean());
        }
    }

    /** {@code listeners} as one safe listener; {@link OutboxListener#NONE} when there is none. */
    public static OutboxListener of(List<OutboxListener> listeners) {
        return listeners.isEmpty() ? OutboxListener.NONE : new SafeListener(List.copyOf(listeners));
    }

    /** Whether {@code listener} does anything (so that a caller may skip preparing its arguments). */
    public static boolean isActive(OutboxListener listener) {
        return listener != OutboxListener.NONE;
    }

    private void tell(String event, Consumer<OutboxListener> call) {
        for (Guarded guarded : listeners) {
            try {
                call.accept(guarded.listener());
            } catch (Throwable e) {
                if (e instanceof VirtualMachineError && !(e instanceof StackOverflowError)) {
                    throw e; // a StackOverflowError is the listener's own recursion, unwound by now
                }
                failed(guarded, event, e);
            }
        }
    }

    private static void failed(Guarded guarded, String event, Throwable e) {
        String listener = guarded.listener().getClass().getName();
        if (e instanceof Exception) {
            if (guarded.threwException().compareAndSet(false, true)) {
                LOG.warn("outbox listener {} failed on {} (ignored; its further failures at DEBUG): {}", listener, event,
                        e.toString());
                return;
            }
        } else if (guarded.threwError().compareAndSet(false, true)) {
            // An error is a deployment's fault (a library of another version, say): with its stack trace.
            LOG.error("outbox listener {} failed on {} (ignored; its further errors at DEBUG)", listener, event, e);
            return;
        }
        LOG.debug("outbox listener {} failed on {}", listener, event, e);
    }

    @Override
    public void claimed(int messages, Duration duration) {
        tell("claimed", l -> l.claimed(messages, duration));
    }

    @Override
    public void delivered(OutboxMessage message, Duration latency) {
        tell("delivered", l -> l.delivered(message, latency));
    }

    @Override
    public void deliveredBatch(List<OutboxMessage> messages, Instant confirmed) {
        tell("delivered", l -> l.deliveredBatch(messages, confirmed));
    }

    @Override
    public void failed(OutboxMessage message, FailureReason reason, Exception error) {
        tell("failed", l -> l.failed(message, reason, error));
    }

    @Override
    public void dead(OutboxMessage message) {
        tell("dead", l -> l.dead(message));
    }

    @Override
    public void pollFailed(Exception error) {
        tell("pollFailed", l -> l.pollFailed(error));
    }

    @Override
    public void processed(String consumer, OutboxMessage message, Duration lag) {
        tell("processed", l -> l.processed(consumer, message, lag));
    }

    @Override
    public void duplicate(String consumer, OutboxMessage message) {
        tell("duplicate", l -> l.duplicate(consumer, message));
    }

    @Override
    public void handlingFailed(String consumer, OutboxMessage message, Exception error) {
        tell("handlingFailed", l -> l.handlingFailed(consumer, message, error));
    }
}
