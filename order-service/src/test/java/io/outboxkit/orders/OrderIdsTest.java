package io.outboxkit.orders;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;

/** New orders' ids: random version-4 UUIDs of RFC 9562's variant, distinct however many threads draw them. */
class OrderIdsTest {

    @Test
    void an_order_id_is_a_random_uuid_of_version_4() {
        UUID id = OrderIds.next();

        assertThat(id.version()).isEqualTo(4);
        assertThat(id.variant()).isEqualTo(2);
    }

    @Test
    void ids_drawn_by_many_threads_are_distinct_and_spread_over_all_their_random_bits() throws Exception {
        Set<UUID> ids = ConcurrentHashMap.newKeySet();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            Thread thread = new Thread(() -> {
                for (int i = 0; i < 10_000; i++) {
                    ids.add(OrderIds.next());
                }
            });
            thread.start();
            threads.add(thread);
        }
        for (Thread thread : threads) {
            thread.join();
        }

        assertThat(ids).hasSize(80_000);
        long highOr = 0;
        long lowOr = 0;
        for (UUID id : ids) {
            highOr |= id.getMostSignificantBits();
            lowOr |= id.getLeastSignificantBits();
        }
        assertThat(highOr | 0xF000L).as("every random bit of the high half is set in some id").isEqualTo(-1L);
        assertThat(lowOr | 0x4000_0000_0000_0000L).as("every random bit of the low half is set in some id").isEqualTo(-1L);
    }
}
