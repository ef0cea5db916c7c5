package io.outboxkit.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** DB_URL, DB_USER and DB_PASSWORD as a service reads them, before any connection is tried. */
class DatabaseSettingsTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            jdbc:postgresql://127.0.0.1:99999/outbox        | has port "99999": a port is 1 to 65535
            jdbc:postgresql://127.0.0.1:0/outbox            | has port "0"
            jdbc:postgresql://127.0.0.1:notaport/outbox     | has port "notaport"
            jdbc:postgresql://db1:5432,db2:70000/outbox     | has port "70000"
            jdbc:postgresql://[::1]:123456/outbox           | has port "123456"
            """)
    void a_port_that_no_server_can_listen_on_is_refused_naming_db_url(String url, String message) {
        assertThatThrownBy(() -> new DatabaseSettings(url, "outbox", "x")).isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("DB_URL=" + url).hasMessageContaining(message);
    }

    @ParameterizedTest
    @ValueSource(strings = {"jdbc:postgresql://127.0.0.1:5432/outbox", "jdbc:postgresql://localhost/outbox",
            "jdbc:postgresql://db1:5432,db2:5433/outbox?targetServerType=primary", "jdbc:postgresql://[::1]:5432/outbox",
            "jdbc:postgresql://[::1]/outbox", "jdbc:postgresql:///outbox", "jdbc:postgresql://h:65535/x?user=a:b"})
    void any_host_list_the_driver_reads_is_accepted(String url) {
        assertThat(new DatabaseSettings(url, "outbox", "x").url()).isEqualTo(url);
    }

    @Test
    void the_user_is_the_urls_when_it_names_one_as_the_driver_decides() {
        assertThat(new DatabaseSettings("jdbc:postgresql://h/db?user=postgres&ssl=false", "outbox", "x").effectiveUser())
                .isEqualTo("postgres");
        assertThat(new DatabaseSettings("jdbc:postgresql://h/db?user=a%40b", "outbox", "x").effectiveUser()).isEqualTo("a@b");
        assertThat(new DatabaseSettings("jdbc:postgresql://h/db", "outbox", "x").effectiveUser()).isEqualTo("outbox");
    }

    @Test
    void a_password_in_the_url_is_never_shown() {
        assertThatThrownBy(() -> new DatabaseSettings("jdbc:postgresql://h:99999/db?password=s3cret", "outbox", "x"))
                .hasMessageNotContaining("s3cret").hasMessageContaining("password=***");
        assertThat(new DatabaseSettings("jdbc:postgresql://h/db?password=s3cret", "outbox", "x").toString())
                .doesNotContain("s3cret");
    }
}
