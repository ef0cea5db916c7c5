/**
 * An embedded PostgreSQL for development: {@code run.sh} starts it so the demo system runs on a
 * machine with nothing but a JDK. Not for production.
 */
package io.outboxkit.devpostgres;
