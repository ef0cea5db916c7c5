package io.outboxkit.core.spi;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.BindException;
import java.nio.channels.UnresolvedAddressException;
import java.sql.SQLException;
import org.junit.jupiter.api.Test;

/** How a failure's causes are read: each once, the deepest words first, whatever the chain's shape. */
class CausesTest {

    @Test
    void the_chain_runs_from_the_failure_to_its_root() {
        SQLException root = new SQLException("connection refused");
        IllegalStateException wrapper = new IllegalStateException("pool failed", new IOException("io", root));

        assertThat(Causes.chain(wrapper)).extracting(Throwable::getMessage)
                .containsExactly("pool failed", "io", "connection refused");
        assertThat(Causes.chain(null)).isEmpty();
    }

    @Test
    void the_root_causes_message_wins_over_the_wrappers() {
        Exception e = new IllegalStateException("Port already in use",
                new IOException("Failed to bind to /10.9.9.9:8080", new BindException("Cannot assign requested address")));

        assertThat(Causes.rootMessage(e)).isEqualTo("Cannot assign requested address");
    }

    @Test
    void a_root_without_a_message_gives_the_nearest_message_above_it() {
        Exception e = new IllegalStateException("Port already in use",
                new IOException("Failed to bind to nowhere.invalid:8080", new UnresolvedAddressException()));

        assertThat(Causes.rootMessage(e)).isEqualTo("Failed to bind to nowhere.invalid:8080");
    }

    @Test
    void a_chain_without_any_message_gives_the_roots_class_name() {
        assertThat(Causes.rootMessage(new RuntimeException(null, new UnresolvedAddressException())))
                .isEqualTo("UnresolvedAddressException");
    }

    @Test
    void find_gives_the_first_cause_of_a_type() {
        BindException bind = new BindException("Address already in use");
        Exception e = new IllegalStateException("Port already in use", new IOException("Failed to bind", bind));

        assertThat(Causes.find(e, BindException.class)).containsSame(bind);
        assertThat(Causes.find(e, IOException.class)).get().extracting(Throwable::getMessage).isEqualTo("Failed to bind");
        assertThat(Causes.find(e, SQLException.class)).isEmpty();
        assertThat(Causes.find(null, SQLException.class)).isEmpty();
    }

    @Test
    void a_cycle_in_the_chain_ends_every_walk_instead_of_hanging_the_caller() {
        RuntimeException a = new RuntimeException("a");
        RuntimeException b = new RuntimeException("b", a);
        a.initCause(b);

        assertThat(Causes.chain(a)).containsExactly(a, b);
        assertThat(Causes.rootMessage(a)).isEqualTo("b");
        assertThat(Causes.find(a, BindException.class)).isEmpty();
    }

    @Test
    void a_chain_deeper_than_the_limit_is_cut_there() {
        Throwable deep = new IOException("root");
        for (int i = 0; i < Causes.MAX_DEPTH + 10; i++) {
            deep = new RuntimeException("wrapper " + i, deep);
        }

        assertThat(Causes.chain(deep)).hasSize(Causes.MAX_DEPTH);
    }
}
