package io.outboxkit.app;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class EchoTest {

    @Test
    void a_text_of_at_most_max_characters_is_quoted_whole() {
        assertThat(Echo.of("x".repeat(60), 60)).isEqualTo("x".repeat(60));
    }

    @Test
    void a_longer_text_is_cut_to_max_characters_and_marked_as_cut_never_inside_a_surrogate_pair() {
        assertThat(Echo.of("x".repeat(61), 60)).isEqualTo("x".repeat(60) + "...");
        assertThat(Echo.of("x".repeat(59) + "\uD83D\uDE00", 60)).isEqualTo("x".repeat(59) + "...");
    }
}
