package io.outboxkit.relay.console;

import io.javalin.config.JavalinConfig;
import io.javalin.http.staticfiles.Location;
import io.outboxkit.core.OutboxAdmin;
import io.outboxkit.core.OutboxMonitor;
import io.outboxkit.core.PollerStats;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * The relay's operations console, on the admin port: a page of the outbox (counts, the oldest due
 * message, lease holders, delivered and failed per second, a filtered list of messages), each
 * message's page, and the requeues of {@code replay-cli}. Server-rendered HTML; htmx refreshes the
 * parts that change, uPlot draws the rates; both are served from their webjars by the relay.
 *
 * <p>{@link #install} also guards every other route of the admin port ({@code /health},
 * {@code /metrics}) except {@code GET /health/live}, open without the token: see {@link ConsoleSettings}
 * for the token, {@code Guard} for the checks.
 *
 * <p>Addresses: {@code GET /} (query parameters {@code status}, {@code aggregate_type},
 * {@code aggregate_id}, {@code event_type}, {@code order}, {@code after}, {@code size},
 * {@code refresh}), {@code GET /messages/{id}}; what a page requests every {@code refresh}
 * seconds: {@code GET /console/overview}, {@code GET /console/messages} (the page's parameters),
 * {@code GET /console/rates}, and on a message's page {@code GET /console/messages/{id}}.
 */
public final class Console implements AutoCloseable {

    private final RateSampler rates;

    private Console(RateSampler rates) {
        this.rates = rates;
    }

    /**
     * Adds the console's routes, its guard and its error pages to {@code config}; call it after
     * the JSON conventions ({@code JsonApi.configure}), whose error handler it replaces with one
     * that also speaks HTML, to a client whose {@code Accept} the server read and that asks for it.
     *
     * @param relayName the relay's name, shown on every page
     * @param stats     the relay's delivery counters, sampled every second for the chart
     */
    public static Console install(JavalinConfig config, OutboxAdmin admin, OutboxMonitor monitor, String relayName,
                                  Supplier<PollerStats> stats, ConsoleSettings settings) {
        Objects.requireNonNull(admin, "admin");
        Objects.requireNonNull(monitor, "monitor");
        Objects.requireNonNull(settings, "settings");
        TokenGate gate = new TokenGate(settings);
        FormTokens forms = new FormTokens();
        Layout layout = new Layout(Assets.onClassPath(), relayName, gate.required(), forms);
        Pages pages = new Pages(layout);
        LoginView login = new LoginView(layout, gate, forms);
        Guard guard = new Guard(gate, forms);
        RateSampler rates = RateSampler.start(stats, Duration.ofSeconds(1), relayName);
        ListPages list = new ListPages(admin, new Overview.Cache(admin, monitor, System::nanoTime), stats, rates, layout);
        MessagePages messages = new MessagePages(admin, layout);
        RequeuePages requeue = new RequeuePages(admin, monitor, layout);

        config.staticFiles.enableWebjars();
        config.staticFiles.add(files -> {
            files.hostedPath = "/assets";
            files.directory = "/console";
            files.location = Location.CLASSPATH;
        });
        config.jetty.modifyServer(server -> server.setErrorHandler(new HttpServerErrors(layout, server.getErrorHandler())));
        config.routes.before(guard::check);
        config.routes.exception(ConsoleError.class, (e, ctx) -> pages.refuse(e, ctx, login));
        config.routes.error(404, "html", ctx -> {
            if (ctx.result() == null || ctx.result().startsWith("{")) {
                pages.refuse(ConsoleError.notFound("Nothing is at " + Params.shorten(ctx.path()) + "."), ctx, login);
            }
        });
        config.routes.get("/", Pages.guarded(list::page));
        config.routes.get("/console/overview", Pages.guarded(list::overview));
        config.routes.get("/console/messages", Pages.guarded(list::messages));
        config.routes.get("/console/rates", list::rates);
        config.routes.get("/messages", messages::open);
        config.routes.get("/messages/{id}", Pages.guarded(messages::page));
        config.routes.get("/console/messages/{id}", Pages.guarded(messages::state));
        config.routes.post("/messages/{id}/requeue", Pages.guarded(messages::requeue));
        config.routes.get("/requeue/dead", Pages.guarded(requeue::reviewDead));
        config.routes.post("/requeue/dead", Pages.guarded(requeue::requeueDead));
        config.routes.get("/requeue/since", Pages.guarded(requeue::reviewSince));
        config.routes.post("/requeue/since", Pages.guarded(requeue::requeueSince));
        config.routes.get("/login", login::show);
        config.routes.post("/login", login::logIn);
        config.routes.post("/logout", login::logOut);
        return new Console(rates);
    }

    /** Stops sampling the rates. */
    @Override
    public void close() {
        rates.close();
    }
}
