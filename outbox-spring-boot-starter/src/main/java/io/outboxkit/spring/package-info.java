/**
 * outboxkit in a Spring application: {@link io.outboxkit.spring.SpringOutboxWriter}, which writes in the
 * caller's Spring transaction, and {@link io.outboxkit.spring.IdempotentHandlers}, the consumer's side. The
 * starter's auto-configuration makes both beans from the application's DataSource.
 */
package io.outboxkit.spring;
