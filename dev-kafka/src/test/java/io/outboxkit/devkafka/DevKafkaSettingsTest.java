package io.outboxkit.devkafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DevKafkaSettingsTest {

    @Test
    void defaults_to_port_9092_data_under_the_working_directory_and_topics_created_on_first_use() {
        DevKafkaSettings settings = DevKafkaSettings.from(Map.of());

        assertThat(settings.port()).isEqualTo(9092);
        assertThat(settings.dataDirectory()).isEqualTo(Path.of(".data/kafka").toAbsolutePath().normalize());
        assertThat(settings.autoCreateTopics()).isTrue();
        assertThat(settings.partitions()).isEqualTo(3);
    }

    @Test
    void reads_each_setting_from_the_environment() {
        DevKafkaSettings settings = DevKafkaSettings.from(Map.of("PORT", " 19092 ", "DATA_DIR", "/var/tmp/k",
                "AUTO_CREATE_TOPICS", "FALSE", "PARTITIONS", "1"));

        assertThat(settings).isEqualTo(new DevKafkaSettings(19092, Path.of("/var/tmp/k"), false, 1));
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "65536", "-1", "abc", "9092x"})
    void refuses_a_port_that_is_not_one_with_exit_status_2(String port) {
        assertThatThrownBy(() -> DevKafkaSettings.from(Map.of("PORT", port)))
                .isInstanceOf(DevKafkaException.class)
                .hasMessage("PORT=" + port + " is not a TCP port from 1 to 65535")
                .extracting(e -> ((DevKafkaException) e).exitStatus()).isEqualTo(2);
    }

    @Test
    void refuses_an_auto_create_setting_that_is_not_true_or_false() {
        assertThatThrownBy(() -> DevKafkaSettings.from(Map.of("AUTO_CREATE_TOPICS", "yes")))
                .isInstanceOf(DevKafkaException.class)
                .hasMessage("AUTO_CREATE_TOPICS=yes is not true or false");
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "101", "many"})
    void refuses_partitions_out_of_1_to_100(String partitions) {
        assertThatThrownBy(() -> DevKafkaSettings.from(Map.of("PARTITIONS", partitions)))
                .isInstanceOf(DevKafkaException.class)
                .hasMessage("PARTITIONS=" + partitions + " is not a number from 1 to 100");
    }

    @Test
    void reads_sasl_users_in_order_the_first_one_the_super_user_and_never_shows_their_passwords() {
        DevKafkaSettings settings = DevKafkaSettings.from(Map.of("SASL_USERS", "admin:pw-1, relay:pw-2"));

        assertThat(settings.saslUsers()).containsExactly(Map.entry("admin", "pw-1"), Map.entry("relay", "pw-2"));
        assertThat(settings.toString()).contains("saslUsers=[admin, relay]").doesNotContain("pw-1", "pw-2");
        assertThatThrownBy(() -> DevKafkaSettings.from(Map.of("SASL_USERS", "admin")))
                .hasMessage("SASL_USERS must be name:password[,name:password...]");
    }
}
