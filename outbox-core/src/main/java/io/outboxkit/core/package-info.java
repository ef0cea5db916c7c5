/**
 * The transactional outbox for PostgreSQL.
 *
 * <ul>
 *   <li>{@link io.outboxkit.core.OutboxWriter} writes messages in the caller's business transaction;</li>
 *   <li>{@link io.outboxkit.core.OutboxPoller} claims and delivers them, at least once;</li>
 *   <li>{@link io.outboxkit.core.IdempotentHandler} lets a consumer apply each message once;</li>
 *   <li>{@link io.outboxkit.core.OutboxRetention} keeps the tables bounded;</li>
 *   <li>{@link io.outboxkit.core.OutboxAdmin} lists and requeues messages for operators.</li>
 * </ul>
 * The tables are those of {@code migrations/.../V1__outbox.sql}.
 */
package io.outboxkit.core;
