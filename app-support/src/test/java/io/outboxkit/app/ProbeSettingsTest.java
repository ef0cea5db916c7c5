package io.outboxkit.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** HEALTH_PORT and SHUTDOWN_DELAY_MS: read as every service reads a port and a duration, refused by name. */
class ProbeSettingsTest {

    private static final ServiceSettings SERVICE = new ServiceSettings("0.0.0.0", 8080, 16);

    @Test
    void unset_the_checks_have_no_port_of_their_own_and_the_stop_is_not_delayed() {
        assertThat(ProbeSettings.from(Env.of(Map.of()), SERVICE)).isEqualTo(ProbeSettings.DEFAULT);
        assertThat(ProbeSettings.DEFAULT.hasHealthPort()).isFalse();
        assertThat(ProbeSettings.DEFAULT.shutdownDelay()).isEqualTo(Duration.ZERO);
    }

    @Test
    void the_port_and_the_delay_in_milliseconds_are_read() {
        assertThat(ProbeSettings.from(Env.of(Map.of("HEALTH_PORT", "8090", "SHUTDOWN_DELAY_MS", "5000")), SERVICE))
                .isEqualTo(new ProbeSettings(8090, Duration.ofSeconds(5)));
    }

    @Test
    void the_services_own_port_is_refused_as_health_port() {
        assertThatThrownBy(() -> ProbeSettings.from(Env.of(Map.of("HEALTH_PORT", "8080")), SERVICE))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("HEALTH_PORT=8080 is PORT too");
    }

    @ParameterizedTest
    @ValueSource(strings = {"-1", "65536", "health"})
    void a_bad_port_is_refused_naming_the_variable_and_its_range(String value) {
        assertThatThrownBy(() -> ProbeSettings.from(Env.of(Map.of("HEALTH_PORT", value)), SERVICE))
                .isInstanceOf(ConfigException.class)
                .hasMessage("HEALTH_PORT=" + value + " is not a whole number from 0 to 65535");
    }

    @ParameterizedTest
    @ValueSource(strings = {"-1", "120001", "5s"})
    void a_bad_delay_is_refused_naming_the_variable_and_its_range(String value) {
        assertThatThrownBy(() -> ProbeSettings.from(Env.of(Map.of("SHUTDOWN_DELAY_MS", value)), SERVICE))
                .isInstanceOf(ConfigException.class)
                .hasMessage("SHUTDOWN_DELAY_MS=" + value + " is not a number of milliseconds from 0 to 120000");
    }
}
