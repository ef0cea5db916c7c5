package io.outboxkit.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** SHUTDOWN_DELAY_MS: read as every service reads a duration, refused by name when out of range. */
class ProbeSettingsTest {

    @Test
    void unset_the_stop_is_not_delayed() {
        assertThat(ProbeSettings.from(Env.of(Map.of())).shutdownDelay()).isEqualTo(Duration.ZERO);
    }

    @Test
    void the_delay_is_read_in_milliseconds() {
        assertThat(ProbeSettings.from(Env.of(Map.of("SHUTDOWN_DELAY_MS", "5000"))).shutdownDelay())
                .isEqualTo(Duration.ofSeconds(5));
    }

    @ParameterizedTest
    @ValueSource(strings = {"-1", "120001", "5s"})
    void a_bad_delay_is_refused_naming_the_variable_and_its_range(String value) {
        assertThatThrownBy(() -> ProbeSettings.from(Env.of(Map.of("SHUTDOWN_DELAY_MS", value))))
                .isInstanceOf(ConfigException.class)
                .hasMessage("SHUTDOWN_DELAY_MS=" + value + " is not a number of milliseconds from 0 to 120000");
    }
}
