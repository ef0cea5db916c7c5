package io.outboxkit.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.core.OutboxNames;
import io.outboxkit.testing.DatabaseSetup;
import io.outboxkit.testing.PostgresExtension;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A service migrates outbox-core's tables and its own, each into a history of its own. */
class ServiceSchemaTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(DatabaseSetup.EMPTY, 2);

    @Test
    void the_librarys_tables_and_the_services_own_each_go_to_a_history_of_their_own() {
        ServiceSchema schema = ServiceSchema.withOwnTables(OutboxNames.DEFAULT, "test_service", "classpath:db/test-service");
        schema.apply(db.dataSource());
        schema.apply(db.dataSource()); // a second start finds both current

        assertThat(tables()).containsExactlyInAnyOrder("outbox", "processed_messages", "outbox_schema_history", "outbox_wakeup", "things",
                "test_service_schema_history");
        List<String> applied = db.jdbi().withHandle(h -> h.createQuery(
                "SELECT description FROM test_service_schema_history WHERE type = 'SQL'").mapTo(String.class).list());
        assertThat(applied).containsExactly("things");
    }

    @Test
    void an_owner_without_a_location_or_not_an_identifier_is_refused() {
        assertThatThrownBy(() -> new ServiceSchema(OutboxNames.DEFAULT, "svc", null)).hasMessageContaining("both");
        assertThatThrownBy(() -> ServiceSchema.withOwnTables(OutboxNames.DEFAULT, "Bad Name", "classpath:x"))
                .hasMessageContaining("owner must be a lowercase identifier");
    }

    private static List<String> tables() {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                .mapTo(String.class).list());
    }
}
