package io.outboxkit.devpostgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DevPostgresSettingsTest {

    @Test
    void defaults_to_port_5433_and_data_under_the_working_directory() {
        DevPostgresSettings settings = DevPostgresSettings.from(Map.of());

        assertThat(settings.port()).isEqualTo(5433);
        assertThat(settings.dataDirectory()).isEqualTo(Path.of(".data/postgres").toAbsolutePath().normalize());
    }

    @Test
    void reads_port_and_data_dir_from_the_environment() {
        DevPostgresSettings settings = DevPostgresSettings.from(Map.of("PORT", " 6543 ", "DATA_DIR", "/var/tmp/pg"));

        assertThat(settings.port()).isEqualTo(6543);
        assertThat(settings.dataDirectory()).isEqualTo(Path.of("/var/tmp/pg"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "65536", "-1", "abc", "5433x"})
    void refuses_a_port_that_is_not_one_with_exit_status_2(String port) {
        assertThatThrownBy(() -> DevPostgresSettings.from(Map.of("PORT", port)))
                .isInstanceOf(DevPostgresException.class)
                .hasMessage("PORT=" + port + " is not a TCP port from 1 to 65535")
                .extracting(e -> ((DevPostgresException) e).exitStatus()).isEqualTo(2);
    }
}
