package io.outboxkit.core.internal;

import io.outboxkit.core.OutboxNames;
import java.sql.SQLException;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Holds one connection that LISTENs on the outbox's channel and signals a {@link Wakeup} on every
 * notification. Reconnects after a lost connection; while it is down, the poll interval is the
 * fallback, so a lost listener delays delivery but never loses it. How soon the driver hands a
 * notification over depends on the pool's sockets: see
 * {@link io.outboxkit.core.workaround.PgjdbcPromptNotificationSocketFactory}.
 */
public final class NotificationListener implements Runnable {

    private static final Logger LOG = LoggerFactory.getLogger(NotificationListener.class);
    private static final int WAIT_MILLIS = 250;
    private static final long RECONNECT_MILLIS = 1_000;

    private final Jdbi jdbi;
    private final String listen;
    private final String unlisten;
    private final String channel;
    private final Wakeup wakeup;
    private final String name;
    private volatile boolean running = true;
    private volatile boolean holding;

    /** A listener on {@code names}' channel that signals {@code wakeup}; {@code name} prefixes its log lines. */
    public NotificationListener(Jdbi jdbi, OutboxNames names, Wakeup wakeup, String name) {
        this.jdbi = jdbi;
        OutboxSql sql = new OutboxSql(names);
        this.listen = sql.listen;
        this.unlisten = sql.unlisten;
        this.channel = names.channel();
        this.wakeup = wakeup;
        this.name = name;
    }

    /**
     * Whether it holds a connection of the pool now (it keeps one for as long as it runs, but
     * between a lost connection and the next).
     */
    public boolean holdsConnection() {
        return holding;
    }

    /** Makes {@link #run()} return within a fraction of a second. */
    public void stop() {
        running = false;
    }

    @Override
    public void run() {
        boolean healthy = true;
        while (running) {
            // LISTEN takes effect at its transaction's commit: in auto-commit mode, at once.
            try (Handle handle = OwnConnections.autoCommitting(jdbi)) {
                holding = true;
                try {
                    handle.execute(listen);
                    PGConnection connection = handle.getConnection().unwrap(PGConnection.class);
                    if (!healthy) {
                        LOG.info("[{}] listening on channel {} again", name, channel);
                    }
                    healthy = true;
                    wakeup.signal(); // notifications sent while nobody listened are lost: look once
                    try {
                        listen(connection);
                    } finally {
                        unlisten(handle, connection);
                    }
                } finally {
                    holding = false;
                }
            } catch (SQLException | RuntimeException e) {
                if (!running) {
                    return;
                }
                if (healthy) {
                    LOG.warn("[{}] lost the connection listening on channel {} ({}); polling every interval until it is back",
                            name, channel, e.getMessage());
                }
                healthy = false;
                pause();
            }
        }
    }

    private void listen(PGConnection connection) throws SQLException {
        while (running) {
            PGNotification[] notifications = connection.getNotifications(WAIT_MILLIS);
            if (notifications != null && notifications.length > 0) {
                wakeup.signal();
            }
        }
    }

    /**
     * Stops listening before the connection goes back to its pool: a pooled connection left
     * listening would have every later notification queued in it for whoever borrows it next,
     * a queue that grows until that connection is closed.
     */
    private void unlisten(Handle handle, PGConnection connection) {
        try {
            handle.execute(unlisten);
            connection.getNotifications(); // drops those the driver received before: nobody will read them
        } catch (SQLException | RuntimeException e) {
            // the connection is lost: the server ended its LISTEN with it
            LOG.debug("[{}] UNLISTEN {} failed: {}", name, channel, e.getMessage());
        }
    }

    private void pause() {
        try {
            Thread.sleep(RECONNECT_MILLIS); // reconnect pacing in a daemon loop, not test synchronization
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            running = false;
        }
    }
}
