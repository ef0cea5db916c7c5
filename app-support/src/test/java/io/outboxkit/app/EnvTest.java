package io.outboxkit.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** A yes-or-no variable: documented as true/false (ORDERED) or on/off (METRICS), every spelling taken. */
class EnvTest {

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource({"true, true", "ON, true", "yes, true", "1, true", "false, false", "Off, false", "no, false", "0, false"})
    void a_boolean_takes_true_false_on_off_yes_no_and_1_0(String value, boolean expected) {
        assertThat(Env.of(Map.of("METRICS", value)).bool("METRICS", !expected)).isEqualTo(expected);
    }

    @ParameterizedTest(name = "METRICS={0}")
    @ValueSource(strings = {"maybe", "enabled"})
    void a_value_that_is_no_boolean_is_refused_with_every_spelling_it_accepts(String value) {
        assertThatThrownBy(() -> Env.of(Map.of("METRICS", value)).bool("METRICS", true))
                .isInstanceOf(ConfigException.class)
                .hasMessage("METRICS=" + value + " is not on or off (nor true or false, yes or no, 1 or 0)");
    }
}
