package io.outboxkit.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.BindException;
import java.nio.channels.UnresolvedAddressException;
import org.junit.jupiter.api.Test;

/** What a failure says on the one line a service or the CLI prints. */
class RootCauseTest {

    @Test
    void the_root_causes_message_wins_over_the_wrappers() {
        Exception e = new IllegalStateException("Port already in use",
                new IOException("Failed to bind to /10.9.9.9:8080", new BindException("Cannot assign requested address")));

        assertThat(RootCause.message(e)).isEqualTo("Cannot assign requested address");
    }

    @Test
    void a_root_without_a_message_gives_the_nearest_message_above_it() {
        Exception e = new IllegalStateException("Port already in use",
                new IOException("Failed to bind to nowhere.invalid:8080", new UnresolvedAddressException()));

        assertThat(RootCause.message(e)).isEqualTo("Failed to bind to nowhere.invalid:8080");
    }

    @Test
    void a_chain_without_any_message_gives_the_roots_class_name() {
        assertThat(RootCause.message(new RuntimeException(null, new UnresolvedAddressException())))
                .isEqualTo("UnresolvedAddressException");
    }

    @Test
    void a_cycle_in_the_chain_ends_the_walk() {
        CyclicException a = new CyclicException("a");
        CyclicException b = new CyclicException("b");
        a.next = b;
        b.next = a;

        assertThat(RootCause.message(a)).isIn("a", "b");
    }

    @Test
    void find_gives_the_first_cause_of_a_type_and_ends_its_walk_in_a_cycle() {
        BindException bind = new BindException("Address already in use");
        Exception e = new IllegalStateException("Port already in use", new IOException("Failed to bind", bind));
        CyclicException a = new CyclicException("a");
        CyclicException b = new CyclicException("b");
        a.next = b;
        b.next = a;

        assertThat(RootCause.find(e, BindException.class)).containsSame(bind);
        assertThat(RootCause.find(e, IOException.class)).get().isNotSameAs(bind).extracting(Throwable::getMessage)
                .isEqualTo("Failed to bind");
        assertThat(RootCause.find(a, BindException.class)).isEmpty();
    }

    /** An exception whose cause is whatever it is told, so that two can point at each other. */
    static final class CyclicException extends RuntimeException {
        private static final long serialVersionUID = 1L;
        transient Throwable next;

        CyclicException(String message) {
            super(message);
        }

        @Override
        public synchronized Throwable getCause() {
            return next;
        }
    }
}
