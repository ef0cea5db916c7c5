package io.outboxkit.app;

import java.util.Optional;

/**
 * The message a person needs from an exception: its root cause's, since wrappers (a pool, Flyway,
 * Javalin) put their own generic words on top ("port already in use" for every bind failure).
 */
public final class RootCause {

    /** Deeper chains than this are treated as cycles: a cause's getCause may be overridden. */
    private static final int MAX_DEPTH = 100;

    private RootCause() {
    }

    /**
     * The message of the deepest cause of {@code e} that has one (the root's, unless the root has
     * none), else the root's simple class name. Never null; a cycle in the chain ends the walk.
     */
    public static String message(Throwable e) {
        String message = e.getMessage();
        Throwable t = e;
        for (int depth = 0; depth < MAX_DEPTH && t.getCause() != null && t.getCause() != t; depth++) {
            t = t.getCause();
            if (t.getMessage() != null) {
                message = t.getMessage();
            }
        }
        return message != null ? message : t.getClass().getSimpleName();
    }

    /**
     * The first of {@code e} and its causes that is a {@code type}, searched as deep as
     * {@link #message} walks; empty when none is, or {@code e} is null.
     */
    public static <T extends Throwable> Optional<T> find(Throwable e, Class<T> type) {
        Throwable t = e;
        for (int depth = 0; t != null && depth <= MAX_DEPTH; depth++) {
            if (type.isInstance(t)) {
                return Optional.of(type.cast(t));
            }
            t = t.getCause() == t ? null : t.getCause();
        }
        return Optional.empty();
    }
}
