package io.outboxkit.core.spi;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.core.OutboxMessage;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** What a source relies on when it tells its receiver of a dead-lettered message: a failing hook changes nothing. */
class BatchReceiverTest {

    @Test
    void a_receiver_that_throws_on_a_dead_lettered_message_is_logged_and_ignored_even_a_stack_overflow() {
        for (Supplier<Throwable> thrown : List.<Supplier<Throwable>>of(() -> new IllegalStateException("metrics down"),
                () -> new NoClassDefFoundError("io/micrometer/core/instrument/Counter"), StackOverflowError::new)) {
            assertThatCode(() -> BatchReceiver.tellDeadLettered(throwingOnDeadLetter(thrown), null, "unreadable"))
                    .doesNotThrowAnyException();
        }
    }

    @Test
    void an_out_of_memory_error_on_a_dead_lettered_message_passes_through() {
        assertThatThrownBy(() -> BatchReceiver.tellDeadLettered(throwingOnDeadLetter(() -> new OutOfMemoryError("heap")),
                null, "unreadable")).isInstanceOf(OutOfMemoryError.class);
    }

    private static BatchReceiver throwingOnDeadLetter(Supplier<Throwable> thrown) {
        return new BatchReceiver() {
            @Override
            public Map<UUID, ? extends Exception> receive(List<OutboxMessage> batch) {
                return Map.of();
            }

            @Override
            public void deadLettered(OutboxMessage message, String error) {
                Throwable t = thrown.get();
                if (t instanceof Error e) {
                    throw e;
                }
                throw (RuntimeException) t;
            }
        };
    }
}
