package io.outboxkit.consumer;

import io.outboxkit.app.ConfigException;
import io.outboxkit.app.Env;

/**
 * The consumer's settings besides the database: {@code BIND_HOST}, {@code PORT},
 * {@code CONSUMER_NAME}, {@code DB_POOL_SIZE}.
 */
record ConsumerConfig(String host, int port, String consumerName, int poolSize) {

    static final String DEFAULT_HOST = "0.0.0.0";
    static final int DEFAULT_PORT = 8081;
    static final String DEFAULT_NAME = "loyalty";
    static final int DEFAULT_POOL_SIZE = 16;
    static final int MAX_NAME_LENGTH = 100;

    /**
     * Reads the settings, each with its default; PORT 0 picks a free port.
     *
     * @throws ConfigException naming the first bad variable
     */
    static ConsumerConfig from(Env env) {
        String name = env.string("CONSUMER_NAME", DEFAULT_NAME);
        if (name.length() > MAX_NAME_LENGTH) {
            throw new ConfigException("CONSUMER_NAME must be at most " + MAX_NAME_LENGTH + " characters, was "
                    + name.length());
        }
        return new ConsumerConfig(
                env.string("BIND_HOST", DEFAULT_HOST),
                env.integer("PORT", DEFAULT_PORT, 0, 65_535),
                name,
                env.integer("DB_POOL_SIZE", DEFAULT_POOL_SIZE, 1, 200));
    }
}
