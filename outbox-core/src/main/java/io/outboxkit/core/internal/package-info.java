/**
 * Implementation details of outbox-core. Public only so the {@code io.outboxkit.core} package
 * can reach it; not an API: anything here may change in any release without notice.
 */
package io.outboxkit.core.internal;
