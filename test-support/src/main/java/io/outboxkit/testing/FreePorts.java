package io.outboxkit.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * TCP ports for a server that a test starts in another process, which binds the port itself a
 * moment later. A port that {@code new ServerSocket(0)} hands out comes from the kernel's ephemeral
 * range, from which every outgoing connection on the machine takes its local port too: between the
 * test's choice and the server's bind, any connection (a pool's, an HTTP client's) may take it, and
 * the server fails to start with "Address already in use". So the ports come from below the
 * ephemeral range ({@code /proc/sys/net/ipv4/ip_local_port_range} on Linux), where no outgoing
 * connection is given one: picked at random, free when picked, never the same twice in one JVM.
 * Thread-safe.
 */
public final class FreePorts {

    /** The lowest port handed out: below it lie the well-known services' ports. */
    static final int LOWEST = 10_000;
    /** Where the ephemeral range starts when the kernel does not say (Linux's default). */
    static final int DEFAULT_EPHEMERAL_START = 32_768;
    private static final Path EPHEMERAL_RANGE = Path.of("/proc/sys/net/ipv4/ip_local_port_range");
    private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();

    private FreePorts() {
    }

    /**
     * A port free right now on every address, outside the ephemeral range, not handed out before
     * by this JVM; an ephemeral one only when the range leaves no room below it.
     */
    public static int pick() {
        int end = ephemeralStart();
        for (int attempt = 0; end - LOWEST >= 1_000 && attempt < 500; attempt++) {
            int port = ThreadLocalRandom.current().nextInt(LOWEST, end);
            if (!HANDED_OUT.contains(port) && bindable(port) && HANDED_OUT.add(port)) {
                return port;
            }
        }
        try (ServerSocket socket = new ServerSocket(0)) {
            HANDED_OUT.add(socket.getLocalPort());
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free TCP port", e);
        }
    }

    /** The first port of the kernel's ephemeral range. */
    static int ephemeralStart() {
        try (BufferedReader reader = Files.newBufferedReader(EPHEMERAL_RANGE)) {
            // read line by line: a /proc file says its size is 0, and Files.readString then reads too little
            String[] range = reader.readLine().trim().split("\\s+");
            return Integer.parseInt(range[0]);
        } catch (IOException | RuntimeException e) {
            return DEFAULT_EPHEMERAL_START;
        }
    }

    private static boolean bindable(int port) {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(false);
            socket.bind(new InetSocketAddress(port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
