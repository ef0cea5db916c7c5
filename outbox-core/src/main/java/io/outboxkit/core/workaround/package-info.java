/**
 * Workarounds for the behaviour of other libraries, kept apart from the API because each should
 * go once its cause is fixed upstream. Today: {@link
 * io.outboxkit.core.workaround.PgjdbcPromptNotificationSocketFactory}, for the PostgreSQL JDBC
 * driver's late hand-over of notifications.
 */
package io.outboxkit.core.workaround;
