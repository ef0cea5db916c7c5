package io.outboxkit.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Only the canonical form is a UUID, so one id has one spelling (up to case); a new id is a random
 * version-4 UUID of RFC 9562's variant, distinct however many threads draw them.
 */
class UuidsTest {

    @ParameterizedTest
    @ValueSource(strings = {"550e8400-e29b-41d4-a716-446655440000", "550E8400-E29B-41D4-A716-446655440000",
            "00000000-0000-0000-0000-000000000000"})
    void the_canonical_form_in_either_case_is_a_uuid(String text) {
        assertThat(Uuids.parse(text)).contains(UUID.fromString(text));
    }

    @Test
    void every_uuid_reads_back_from_its_canonical_form_in_either_case() {
        for (int i = 0; i < 10_000; i++) {
            UUID id = new UUID(ThreadLocalRandom.current().nextLong(), ThreadLocalRandom.current().nextLong());
            assertThat(Uuids.parse(id.toString())).contains(id);
            assertThat(Uuids.parse(id.toString().toUpperCase(Locale.ROOT))).contains(id);
        }
        UUID max = new UUID(-1L, -1L);
        assertThat(Uuids.parse("ffffffff-ffff-ffff-ffff-ffffffffffff")).contains(max);
    }

    @ParameterizedTest
    @NullAndEmptySource
    @ValueSource(strings = {"1-1-1-1-1", "550e8400e29b41d4a716446655440000", "+50e8400-e29b-41d4-a716-446655440000",
            "550e8400-e29b-41d4-a716-44665544000g", "550e8400-e29b-41d4-a716-4466554400000",
            " 550e8400-e29b-41d4-a716-446655440000", "550e8400-e29b-41d4-a716-446655440000\n",
            "５50e8400-e29b-41d4-a716-446655440000", "{550e8400-e29b-41d4-a716-446655440000}",
            "550e8400-e29b-41d4-a716-44665544000", "'; DROP TABLE outbox; --",
            // of the canonical length, one character wrong: digits' neighbours in ASCII, a dash misplaced
            "550e8400-e29b-41d4-a716-44665544000G", "550e8400-e29b-41d4-a716-44665544000:",
            "550e8400-e29b-41d4-a716-44665544000/", "550e8400-e29b-41d4-a716-44665544000@",
            "550e8400-e29b-41d4-a716-44665544000`", "550e8400e-29b-41d4-a716-446655440000",
            "550e8400-e29b-41d4-a7164-46655440000", "550e8400_e29b-41d4-a716-446655440000"})
    void anything_else_is_not(String text) {
        assertThat(Uuids.parse(text)).isEmpty();
    }

    @Test
    void a_new_id_is_a_random_uuid_of_version_4() {
        UUID id = Uuids.random();

        assertThat(id.version()).isEqualTo(4);
        assertThat(id.variant()).isEqualTo(2);
    }

    @Test
    void new_ids_drawn_by_many_threads_are_distinct_and_spread_over_all_their_random_bits() throws Exception {
        Set<UUID> ids = ConcurrentHashMap.newKeySet();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            Thread thread = new Thread(() -> {
                for (int i = 0; i < 10_000; i++) {
                    ids.add(Uuids.random());
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
