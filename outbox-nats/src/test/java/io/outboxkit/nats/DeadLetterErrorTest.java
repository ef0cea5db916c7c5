package io.outboxkit.nats;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The error a dead letter carries in its ASCII-only header: bounded, and marked where it was cut. */
class DeadLetterErrorTest {

    @Test
    void an_error_within_the_limit_is_carried_whole_with_other_than_printable_ascii_escaped() {
        assertThat(DeadLetters.ascii("caf\u00e9\nbad")).isEqualTo("caf\\u00e9\\u000abad");
    }

    @Test
    void an_ascii_error_longer_than_the_limit_is_cut_and_ends_in_dots() {
        String shown = DeadLetters.ascii("a".repeat(DeadLetters.MAX_ERROR_LENGTH + 1));

        assertThat(shown).hasSize(DeadLetters.MAX_ERROR_LENGTH).isEqualTo("a".repeat(DeadLetters.MAX_ERROR_LENGTH - 3) + "...");
    }

    @Test
    void an_error_whose_escapes_make_it_too_long_is_cut_between_escapes_never_inside_one() {
        String shown = DeadLetters.ascii("\u00e9".repeat(DeadLetters.MAX_ERROR_LENGTH));

        assertThat(shown.length()).isLessThanOrEqualTo(DeadLetters.MAX_ERROR_LENGTH);
        assertThat(shown).matches("(\\\\u00e9)+\\.\\.\\.");
    }

    @Test
    void a_surrogate_pair_is_kept_whole_or_left_out_whole() {
        // the pair's escapes would end 2 characters past the room left for the dots
        String shown = DeadLetters.ascii("a".repeat(DeadLetters.MAX_ERROR_LENGTH - 13) + "\uD83D\uDE00" + "b".repeat(10));

        assertThat(shown).isEqualTo("a".repeat(DeadLetters.MAX_ERROR_LENGTH - 13) + "...");
    }
}
