/**
 * outbox-core's figures in Micrometer: {@link io.outboxkit.micrometer.OutboxMetrics}, a
 * {@code MeterBinder} over outbox-core's listener and monitor. A separate module, so that an
 * application without Micrometer takes none of it.
 */
package io.outboxkit.micrometer;
