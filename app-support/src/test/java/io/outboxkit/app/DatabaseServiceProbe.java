package io.outboxkit.app;

import io.outboxkit.core.OutboxNames;

/**
 * A minimal service process for {@link SecretsNeverLoggedTest}: {@link ServiceMain} around
 * {@link Database#open} with the settings of the environment, exactly as the services start.
 */
public final class DatabaseServiceProbe {

    /** Printed once the database is open. */
    static final String OPEN = "secret-probe: database open";

    private DatabaseServiceProbe() {
    }

    public static void main(String[] args) {
        ServiceMain.run("secret-probe", () -> {
            Database database = Database.open(DatabaseSettings.from(Env.system()), "secret-probe", 2,
                    ServiceSchema.outboxOnly(OutboxNames.DEFAULT));
            System.out.println(OPEN);
            return database;
        });
    }
}
