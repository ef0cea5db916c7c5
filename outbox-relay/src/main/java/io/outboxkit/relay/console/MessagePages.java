package io.outboxkit.relay.console;

import io.javalin.http.Context;
import io.javalin.http.HttpStatus;
import io.outboxkit.core.OutboxAdmin;
import io.outboxkit.core.OutboxEntry;
import java.util.Set;
import java.util.UUID;

/**
 * One message: {@code GET /messages/{id}}, its refreshing state {@code GET /console/messages/{id}},
 * {@code GET /messages?id=} (the "open" box: to the message's address), and
 * {@code POST /messages/{id}/requeue}.
 */
final class MessagePages {

    private final OutboxAdmin admin;
    private final Layout layout;

    MessagePages(OutboxAdmin admin, Layout layout) {
        this.admin = admin;
        this.layout = layout;
    }

    /** {@code GET /messages/{id}}. */
    void page(Context ctx) {
        int refresh = refresh(ctx);
        OutboxEntry entry = find(ctx.pathParam("id"));
        Pages.html(ctx, layout.page(entry.message().eventType() + " " + entry.message().id(),
                MessageView.render(entry, layout, refresh)));
    }

    /** {@code GET /console/messages/{id}}: status, attempts, lease and last error, as they are now. */
    void state(Context ctx) {
        int refresh = refresh(ctx);
        Pages.html(ctx, MessageView.state(find(ctx.pathParam("id")), layout, refresh).toString());
    }

    /** {@code GET /messages?id=...}: a redirect to the message's own address. */
    void open(Context ctx) {
        if (ctx.queryParamMap().keySet().stream().anyMatch(name -> !name.equals("id"))) {
            throw ConsoleError.badRequest("/messages takes only the parameter id");
        }
        String value = Params.single(ctx.queryParamMap(), "id");
        UUID id = Params.messageId(value == null ? "" : value.trim());
        ctx.redirect("/messages/" + id, HttpStatus.SEE_OTHER);
    }

    /** {@code POST /messages/{id}/requeue}: back to PENDING, attempts reset; then to the message's page. */
    void requeue(Context ctx) {
        UUID id = Params.messageId(ctx.pathParam("id"));
        if (!admin.requeue(id)) {
            throw ConsoleError.notFound("No message with id " + id + " is in the outbox.");
        }
        ctx.redirect("/messages/" + id, HttpStatus.SEE_OTHER);
    }

    private OutboxEntry find(String value) {
        UUID id = Params.messageId(value);
        return admin.find(id).orElseThrow(() -> ConsoleError.notFound("No message with id " + id
                + " is in the outbox (retention may have deleted it after delivery)."));
    }

    private static int refresh(Context ctx) {
        if (ctx.queryParamMap().keySet().stream().anyMatch(name -> !name.equals("refresh"))) {
            throw ConsoleError.badRequest("a message's page takes only the parameter refresh");
        }
        return ListParams.from(ctx.queryParamMap(), Set.of()).refresh();
    }
}
