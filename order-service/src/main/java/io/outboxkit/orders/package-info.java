/**
 * order-service: the order API, which writes each order change and its event in one transaction.
 *
 * <p>The public API is {@link io.outboxkit.orders.OrderServiceMain} (the process) and
 * {@link io.outboxkit.orders.OrderServiceApp} (the HTTP server over an open database, for tests
 * and embedding). Everything else is package-private:
 * <ul>
 *   <li>{@code OrderRoutes} turns HTTP requests into calls and results into JSON;</li>
 *   <li>{@code OrderService} runs each operation in one transaction, with its Idempotency-Key;</li>
 *   <li>{@code Orders} changes the {@code orders} table and writes the matching outbox event;</li>
 *   <li>{@code IdempotencyKeys} stores and replays the responses given to keyed requests.</li>
 * </ul>
 */
package io.outboxkit.orders;
