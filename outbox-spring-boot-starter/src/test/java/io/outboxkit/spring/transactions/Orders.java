package io.outboxkit.spring.transactions;

import java.util.UUID;

/** Where a test's business row goes: through JPA or through JdbcTemplate. */
interface Orders {

    /** Saves the order {@code id} in the current transaction. */
    void save(UUID id);
}
