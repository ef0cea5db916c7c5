/** What an application implements to plug into outbox-core: where messages go, and what a message does. */
package io.outboxkit.core.spi;
