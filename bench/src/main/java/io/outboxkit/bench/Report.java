package io.outboxkit.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The run's results as Markdown: the summary table first, then the details of each phase. */
final class Report {

    private final List<String> header = new ArrayList<>();
    private final List<String> summary = new ArrayList<>();
    private final List<String> details = new ArrayList<>();

    void header(String line) {
        header.add(line);
        System.out.println("bench: " + line);
    }

    /** A row of the summary: what, our figure, the ceiling, the ratio, the target and whether it is met. */
    void figure(String what, String ours, String ceiling, String ratio, String target, Boolean met) {
        summary.add("| " + what + " | " + ours + " | " + ceiling + " | " + ratio + " | " + target + " | "
                + (met == null ? "" : met ? "**met**" : "**missed**") + " |");
        System.out.println("bench: " + what + ": " + ours + (ceiling.isEmpty() ? "" : " vs " + ceiling)
                + (ratio.isEmpty() ? "" : " = " + ratio) + (target.isEmpty() ? "" : " (target " + target + ")"));
    }

    void detail(String line) {
        details.add(line);
        System.out.println("bench: " + line);
    }

    String markdown() {
        StringBuilder md = new StringBuilder();
        header.forEach(line -> md.append(line).append('\n'));
        md.append('\n');
        md.append("| figure | outboxkit | PostgreSQL's ceiling (pgbench, same SQL) | ratio | target | |\n");
        md.append("|---|---:|---:|---:|---|---|\n");
        summary.forEach(line -> md.append(line).append('\n'));
        md.append('\n');
        details.forEach(line -> md.append(line).append('\n'));
        return md.toString();
    }

    void write(Path file) throws IOException {
        Files.createDirectories(file.getParent());
        Files.writeString(file, markdown());
    }
}
