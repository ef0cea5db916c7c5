package io.outboxkit.spring;

import io.outboxkit.spring.autoconfigure.OutboxAutoConfiguration;
import io.outboxkit.testing.PostgresExtension;
import java.util.ArrayList;
import java.util.List;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/** Application contexts for the tests: Spring Boot's DataSource on a test class's database, and the starter. */
public final class Contexts {

    private Contexts() {
    }

    /**
     * A runner whose context has only what an application would configure: {@code spring.datasource.*}
     * pointing at {@code db}'s database; with the starter and any other {@code autoConfigurations}.
     */
    public static ApplicationContextRunner on(PostgresExtension db, Class<?>... autoConfigurations) {
        List<String> properties = new ArrayList<>(List.of("spring.datasource.url=" + db.jdbcUrl(),
                "spring.datasource.username=" + db.user()));
        if (db.password() != null) {
            properties.add("spring.datasource.password=" + db.password());
        }
        return new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, OutboxAutoConfiguration.class))
                .withConfiguration(AutoConfigurations.of(autoConfigurations))
                .withPropertyValues(properties.toArray(String[]::new));
    }
}
