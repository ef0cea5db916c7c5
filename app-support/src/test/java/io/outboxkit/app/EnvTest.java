package io.outboxkit.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A yes-or-no variable: documented as true/false (ORDERED) or on/off (METRICS), every spelling taken;
 * whole numbers and milliseconds within their range, refused outside it with the range.
 */
class EnvTest {

    @ParameterizedTest(name = "BATCH_SIZE={0}")
    @CsvSource({"1, 1", "' 500 ', 500", "1000, 1000", "+7, 7"})
    void a_whole_number_in_its_range_is_taken(String value, int expected) {
        assertThat(Env.of(Map.of("BATCH_SIZE", value)).integer("BATCH_SIZE", 100, 1, 1000)).isEqualTo(expected);
    }

    @ParameterizedTest(name = "BATCH_SIZE={0}")
    @ValueSource(strings = {"0", "1001", "-1", "ten", "1.5", "3000000000", "99999999999999999999", "0x10"})
    void a_whole_number_out_of_its_range_or_no_number_is_refused_with_the_range(String value) {
        assertThatThrownBy(() -> Env.of(Map.of("BATCH_SIZE", value)).integer("BATCH_SIZE", 100, 1, 1000))
                .isInstanceOf(ConfigException.class)
                .hasMessage("BATCH_SIZE=" + value + " is not a whole number from 1 to 1000");
    }

    @ParameterizedTest(name = "LEASE_MS={0}")
    @CsvSource({"1000, 1000", "' 30000 ', 30000", "3600000, 3600000"})
    void milliseconds_in_their_range_are_taken(String value, long expected) {
        assertThat(Env.of(Map.of("LEASE_MS", value)).millis("LEASE_MS", Duration.ofSeconds(30), 1000, 3_600_000))
                .isEqualTo(Duration.ofMillis(expected));
    }

    @ParameterizedTest(name = "LEASE_MS={0}")
    @ValueSource(strings = {"999", "3600001", "-5", "30s", "1e3", "99999999999999999999"})
    void milliseconds_out_of_their_range_or_no_number_are_refused_with_the_range(String value) {
        assertThatThrownBy(() -> Env.of(Map.of("LEASE_MS", value)).millis("LEASE_MS", Duration.ofSeconds(30), 1000, 3_600_000))
                .isInstanceOf(ConfigException.class)
                .hasMessage("LEASE_MS=" + value + " is not a number of milliseconds from 1000 to 3600000");
    }

    @ParameterizedTest(name = "unset or \"{0}\"")
    @ValueSource(strings = {"", "   "})
    void a_blank_or_unset_number_is_its_default(String blank) {
        Env env = Env.of(Map.of("BATCH_SIZE", blank, "LEASE_MS", blank));
        assertThat(env.integer("BATCH_SIZE", 100, 1, 1000)).isEqualTo(100);
        assertThat(env.millis("LEASE_MS", Duration.ofSeconds(30), 1000, 3_600_000)).isEqualTo(Duration.ofSeconds(30));
        assertThat(Env.of(Map.of()).integer("BATCH_SIZE", 100, 1, 1000)).isEqualTo(100);
        assertThat(Env.of(Map.of()).millis("LEASE_MS", Duration.ofSeconds(30), 1000, 3_600_000)).isEqualTo(Duration.ofSeconds(30));
    }

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
