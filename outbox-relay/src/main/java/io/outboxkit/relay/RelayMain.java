package io.outboxkit.relay;

import io.outboxkit.app.Database;
import io.outboxkit.app.DatabaseSettings;
import io.outboxkit.app.Env;
import io.outboxkit.app.ServiceMain;
import io.outboxkit.app.ServiceSchema;
import io.outboxkit.app.observability.Observability;
import io.outboxkit.relay.console.ConsoleSettings;

/**
 * Runs the relay as a process. Settings come from the environment: {@code DB_URL},
 * {@code DB_USER}, {@code DB_PASSWORD} (see {@link DatabaseSettings}), and those of
 * {@link RelayConfig}, {@code DB_POOL_SIZE} among them, and {@code SINK} with its broker's variables
 * (see {@link io.outboxkit.app.broker.BrokerSettings}); {@code METRICS} and the {@code OTEL_*}
 * variables (see {@link Observability}); and {@code ADMIN_TOKEN} (see {@link ConsoleSettings}: required
 * when {@code ADMIN_HOST} is not a loopback address). A bad setting or an unreachable database
 * ends the process with one line on stderr and exit status 2. SIGTERM lets the batch in flight
 * finish, then stops the admin server and closes the pool.
 */
public final class RelayMain {

    private RelayMain() {
    }

    /** Starts the relay and blocks until the process is asked to stop. */
    public static void main(String[] args) {
        ServiceMain.run("outbox-relay", () -> start(Env.system()));
    }

    /** Reads the settings, opens the database and starts the relay; the result closes both, the relay first. */
    static AutoCloseable start(Env env) {
        RelayConfig config = RelayConfig.from(env);
        ConsoleSettings access = ConsoleSettings.from(env, config.service().host());
        DatabaseSettings settings = DatabaseSettings.from(env);
        Observability observability = Observability.start("outbox-relay", env);
        Database database;
        try {
            database = openDatabase(settings, config);
        } catch (RuntimeException e) {
            observability.close();
            throw e;
        }
        try {
            observability.trackPool(database);
            Relay relay = Relay.start(database, config, observability, access);
            return () -> {
                relay.close();
                database.close();
                observability.close();
            };
        } catch (RuntimeException e) {
            database.close();
            observability.close();
            throw config.service().explainStartFailure(RelayConfig.ADMIN_HOST, e);
        }
    }

    /**
     * The relay's pool, whose connections wait for a statement's answer as long as
     * {@code STATEMENT_TIMEOUT_MS} lets PostgreSQL run it, and a margin more (see {@link Database}):
     * a claim or a record that runs long gets PostgreSQL's cancel, not an I/O error from a client
     * that stopped waiting while the server still runs it.
     */
    static Database openDatabase(DatabaseSettings settings, RelayConfig config) {
        return Database.open(settings, "outbox-relay", config.service().poolSize(), ServiceSchema.outboxOnly(config.names()),
                config.statementTimeout());
    }
}
