package io.outboxkit.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.UUID;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

/** Only the canonical form is a UUID, so one id has one spelling (up to case). */
class UuidsTest {

    @ParameterizedTest
    @ValueSource(strings = {"550e8400-e29b-41d4-a716-446655440000", "550E8400-E29B-41D4-A716-446655440000",
            "00000000-0000-0000-0000-000000000000"})
    void the_canonical_form_in_either_case_is_a_uuid(String text) {
        assertThat(Uuids.parse(text)).contains(UUID.fromString(text));
    }

    @ParameterizedTest
    @NullAndEmptySource
    @ValueSource(strings = {"1-1-1-1-1", "550e8400e29b41d4a716446655440000", "+50e8400-e29b-41d4-a716-446655440000",
            "550e8400-e29b-41d4-a716-44665544000g", "550e8400-e29b-41d4-a716-4466554400000",
            " 550e8400-e29b-41d4-a716-446655440000", "550e8400-e29b-41d4-a716-446655440000\n",
            "５50e8400-e29b-41d4-a716-446655440000", "{550e8400-e29b-41d4-a716-446655440000}",
            "550e8400-e29b-41d4-a716-44665544000", "'; DROP TABLE outbox; --"})
    void anything_else_is_not(String text) {
        assertThat(Uuids.parse(text)).isEmpty();
    }
}
