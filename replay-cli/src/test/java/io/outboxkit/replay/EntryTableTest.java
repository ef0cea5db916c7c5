package io.outboxkit.replay;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** How the list's table shortens a text to its column. */
class EntryTableTest {

    @Test
    void a_text_longer_than_its_column_is_cut_and_marked_to_the_column_width() {
        assertThat(EntryTable.truncate("x".repeat(100), 60)).isEqualTo("x".repeat(57) + "...");
    }

    @Test
    void a_cut_never_splits_a_character_outside_the_basic_plane() {
        String error = "x".repeat(56) + "\uD83D\uDE00" + "y".repeat(40); // the emoji's pair spans the cut at 57

        String cut = EntryTable.truncate(error, 60);

        assertThat(cut).isEqualTo("x".repeat(56) + "...");
        assertThat(cut.codePoints().noneMatch(c -> Character.isSurrogate((char) c))).isTrue();
    }
}
