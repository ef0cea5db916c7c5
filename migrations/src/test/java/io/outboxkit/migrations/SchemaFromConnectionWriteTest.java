package io.outboxkit.migrations;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import io.outboxkit.core.NewMessage;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.core.OutboxWriter;
import io.outboxkit.testing.DatabaseSetup;
import io.outboxkit.testing.PostgresExtension;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * README, "The tables": an outbox migrated by a service of this project through {@code currentSchema=shop}
 * is current for an application with {@code OutboxNames.inSchema("shop")}, "and the other way round".
 * Being current is not enough: the application must also be able to write to it, from a connection
 * whose search_path is the default one (the application names the schema, so it has no reason to set it).
 */
class SchemaFromConnectionWriteTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(DatabaseSetup.EMPTY, 4);

    @Test
    void an_application_naming_the_schema_writes_to_an_outbox_a_service_migrated_through_its_connections_schema() {
        db.jdbi().useHandle(h -> h.execute("CREATE SCHEMA store"));
        try (HikariDataSource service = db.newPool(2, config -> config.setSchema("store"))) {
            OutboxMigrations.apply(service, OutboxNames.DEFAULT); // what order-service/relay/consumer do at start
        }
        OutboxNames application = OutboxNames.inSchema("store");
        assertThat(OutboxMigrations.apply(db.dataSource(), application)).as("current for the application").isZero();

        UUID id = db.jdbi().inTransaction(h -> OutboxWriter.create(application)
                .write(h, NewMessage.of("Order", "o-1", "OrderCreated", "{\"amount\": 1}")));

        long stored = db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM store.outbox WHERE id = :id")
                .bind("id", id).mapTo(Long.class).one());
        assertThat(stored).isEqualTo(1L);
    }
}
