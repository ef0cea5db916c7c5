package io.outboxkit.core.spi;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * A failure's cause chain, read safely, for code that reports or classifies failures by their
 * causes (a publisher deciding whether a broker's refusal is worth retrying, a service naming the
 * driver's words under a pool's). A chain may be a cycle (two exceptions can be each other's
 * cause): a handler that loops on one hangs the thread it was to report on, so every walk here
 * visits each exception once and stops after {@value #MAX_DEPTH}.
 */
public final class Causes {

    /** The most exceptions of one chain that are read: no failure worth reading is deeper. */
    public static final int MAX_DEPTH = 100;

    private Causes() {
    }

    /** {@code e} and its causes, outermost first, each once; empty for a null {@code e}. */
    public static List<Throwable> chain(Throwable e) {
        List<Throwable> chain = new ArrayList<>();
        Set<Throwable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Throwable t = e; t != null && chain.size() < MAX_DEPTH && seen.add(t); t = t.getCause()) {
            chain.add(t);
        }
        return chain;
    }

    /**
     * The message a person needs from {@code e}: that of the deepest exception of its chain that
     * has one (wrappers such as a pool or a web server put generic words over the driver's or the
     * network's), else the deepest one's simple class name. Never null.
     */
    public static String rootMessage(Throwable e) {
        List<Throwable> chain = chain(e);
        for (int i = chain.size() - 1; i >= 0; i--) {
            if (chain.get(i).getMessage() != null) {
                return chain.get(i).getMessage();
            }
        }
        return chain.isEmpty() ? "unknown failure" : chain.get(chain.size() - 1).getClass().getSimpleName();
    }

    /** The first of {@code e} and its causes that is a {@code type}; empty when none is, or {@code e} is null. */
    public static <T extends Throwable> Optional<T> find(Throwable e, Class<T> type) {
        return chain(e).stream().filter(type::isInstance).map(type::cast).findFirst();
    }
}
