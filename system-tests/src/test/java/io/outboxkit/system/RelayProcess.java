package io.outboxkit.system;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;

/**
 * One outbox-relay process of a {@link RunningSystem}: its name (the lease owner on the rows it
 * claims), its admin port and the process. A restarted relay is a new {@code RelayProcess} with
 * the same name and port.
 */
public final class RelayProcess {

    private final String name;
    private final int adminPort;
    private final Map<String, String> env;
    private final ServiceProcess process;

    RelayProcess(String name, int adminPort, Map<String, String> env, ServiceProcess process) {
        this.name = name;
        this.adminPort = adminPort;
        this.env = Map.copyOf(env);
        this.process = process;
    }

    /** {@code RELAY_NAME}: what {@code outbox.locked_by} says for the rows it has claimed. */
    public String name() {
        return name;
    }

    /** The process. */
    public ServiceProcess process() {
        return process;
    }

    Map<String, String> env() {
        return env;
    }

    int adminPort() {
        return adminPort;
    }

    /** {@code http://127.0.0.1:<admin port><path>}. */
    public String adminUrl(String path) {
        return "http://127.0.0.1:" + adminPort + path;
    }

    /** {@code GET /metrics.json}: claimed, delivered, failed, dead, errors, polls, the outbox's figures. */
    public JsonNode metrics() {
        return Http.get(adminUrl("/metrics.json")).json();
    }

    @Override
    public String toString() {
        return name + " (pid " + process.pid() + ")";
    }
}
