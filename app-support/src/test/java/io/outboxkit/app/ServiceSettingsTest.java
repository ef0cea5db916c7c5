package io.outboxkit.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.BindException;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** PORT, the host and DB_POOL_SIZE: one set of rules, and a message naming the variable. */
class ServiceSettingsTest {

    @Test
    void unset_variables_take_the_services_defaults() {
        ServiceSettings settings = ServiceSettings.from(Env.of(Map.of()), "BIND_HOST", "0.0.0.0", 8080, 16);

        assertThat(settings).isEqualTo(new ServiceSettings("0.0.0.0", 8080, 16));
    }

    @Test
    void each_variable_is_read_and_the_host_from_the_variable_named() {
        Env env = Env.of(Map.of("ADMIN_HOST", "localhost", "BIND_HOST", "10.0.0.1", "PORT", "9000", "DB_POOL_SIZE", "7"));

        assertThat(ServiceSettings.from(env, "ADMIN_HOST", "127.0.0.1", 8082, 5))
                .isEqualTo(new ServiceSettings("localhost", 9000, 7));
    }

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource({"PORT, 0", "PORT, 65535", "DB_POOL_SIZE, 1", "DB_POOL_SIZE, 200"})
    void the_ends_of_each_range_are_accepted_and_port_0_means_any_free_port(String variable, int value) {
        ServiceSettings settings = ServiceSettings.from(Env.of(Map.of(variable, Integer.toString(value))),
                "BIND_HOST", "127.0.0.1", 8080, 16);

        assertThat(variable.equals("PORT") ? settings.port() : settings.poolSize()).isEqualTo(value);
    }

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource(delimiter = '|', textBlock = """
            PORT         | -1                   | PORT=-1 is not a whole number from 0 to 65535
            PORT         | 65536                | PORT=65536 is not a whole number from 0 to 65535
            PORT         | http                 | PORT=http is not a whole number from 0 to 65535
            DB_POOL_SIZE | 0                    | DB_POOL_SIZE=0 is not a whole number from 1 to 200
            DB_POOL_SIZE | 201                  | DB_POOL_SIZE=201 is not a whole number from 1 to 200
            BIND_HOST    | no.such.host.invalid | BIND_HOST=no.such.host.invalid is not an address or a host name that resolves
            """)
    void a_bad_value_is_refused_naming_the_variable_and_what_it_allows(String variable, String value, String message) {
        Env env = Env.of(Map.of(variable, value));

        assertThatThrownBy(() -> ServiceSettings.from(env, "BIND_HOST", "127.0.0.1", 8080, 16))
                .isInstanceOf(ConfigException.class)
                .hasMessage(message);
    }

    @Test
    void a_port_in_use_is_explained_with_the_variables_that_set_it() {
        ServiceSettings settings = new ServiceSettings("127.0.0.1", 8082, 5);
        RuntimeException failure = new IllegalStateException("Port already in use. Make sure no other process is using it",
                new java.io.IOException("Failed to bind", new BindException("Address already in use")));

        assertThat(settings.explainStartFailure("ADMIN_HOST", failure))
                .isInstanceOf(ConfigException.class).hasCause(failure)
                .hasMessage("PORT=8082 is already in use on ADMIN_HOST=127.0.0.1: stop the process that listens there, "
                        + "or set PORT to a free port");
    }

    @Test
    void an_address_that_cannot_be_bound_is_explained_with_the_variables_that_set_it() {
        ServiceSettings settings = new ServiceSettings("10.255.0.9", 8080, 5);
        RuntimeException failure = new IllegalStateException("Port already in use",
                new BindException("Cannot assign requested address"));

        assertThat(settings.explainStartFailure("BIND_HOST", failure))
                .isInstanceOf(ConfigException.class)
                .hasMessage("cannot listen on 10.255.0.9:8080: Cannot assign requested address (check BIND_HOST, an "
                        + "address of this machine, and PORT)");
    }

    @Test
    void any_other_start_failure_is_left_as_it_is() {
        RuntimeException failure = new IllegalStateException("the broker refused", new java.io.IOException("refused"));

        assertThat(new ServiceSettings("0.0.0.0", 8080, 5).explainStartFailure("BIND_HOST", failure)).isSameAs(failure);
    }
}
