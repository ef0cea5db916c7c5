/**
 * The relay's operations console: server-rendered pages on the admin port ({@link
 * io.outboxkit.relay.console.Console}) and who may use them ({@link
 * io.outboxkit.relay.console.ConsoleSettings}). Every value reaches the page through one escaping
 * function ({@code Html.escape}); every change is a POST with a form token from the same origin.
 */
package io.outboxkit.relay.console;
