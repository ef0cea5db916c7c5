package io.outboxkit.core.spi;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class TextsTest {

    @Test
    void a_cut_keeps_the_first_max_chars_or_one_fewer_rather_than_half_a_surrogate_pair() {
        assertThat(Texts.cut("abc", 5)).isEqualTo("abc");
        assertThat(Texts.cut("abcdef", 3)).isEqualTo("abc");
        assertThat(Texts.cut("ab\uD83D\uDE00", 3)).isEqualTo("ab");
    }

    @Test
    void a_text_of_at_most_max_characters_is_quoted_whole() {
        assertThat(Texts.abbreviate("x".repeat(60), 60)).isEqualTo("x".repeat(60));
    }

    @Test
    void a_longer_text_is_cut_to_max_characters_and_marked_as_cut_never_inside_a_surrogate_pair() {
        assertThat(Texts.abbreviate("x".repeat(61), 60)).isEqualTo("x".repeat(60) + "...");
        assertThat(Texts.abbreviate("x".repeat(59) + "\uD83D\uDE00", 60)).isEqualTo("x".repeat(59) + "...");
    }
}
