package io.outboxkit.relay;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Comparator;
import java.util.stream.Stream;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * Debian's headless Chromium, driven through Debian's chromedriver by Selenium: no browser is
 * downloaded. When either is missing or does not start, the test fails and says how to install
 * them ({@code .ci/run} does it in CI): a browser test never skips quietly. Screenshots go to
 * {@code target/console-screenshots/}.
 */
final class Chromium implements AutoCloseable {

    static final Path BROWSER = Path.of("/usr/bin/chromium");
    static final Path DRIVER = Path.of("/usr/bin/chromedriver");
    static final Path SCREENSHOTS = Path.of("target", "console-screenshots");
    static final Duration WAIT = Duration.ofSeconds(20);

    private final ChromeDriver driver;
    private final Path profile;

    private Chromium(ChromeDriver driver, Path profile) {
        this.driver = driver;
        this.profile = profile;
    }

    /** Starts a fresh browser (its own empty profile) with a 1280×800 window. */
    static Chromium start() {
        for (Path file : new Path[] {BROWSER, DRIVER}) {
            if (!Files.isExecutable(file)) {
                throw new AssertionError(file + " is missing: the console's browser tests need Debian's Chromium and its "
                        + "driver (apt-get install -y chromium chromium-driver; .ci/run installs them when missing)");
            }
        }
        Path profile;
        try {
            profile = Files.createTempDirectory("console-chromium-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ChromeOptions options = new ChromeOptions();
        options.setBinary(BROWSER.toFile());
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                "--window-size=1280,800", "--user-data-dir=" + profile.toAbsolutePath());
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(DRIVER.toFile())
                .usingAnyFreePort()
                .build();
        try {
            ChromeDriver driver = new ChromeDriver(service, options);
            driver.manage().timeouts().pageLoadTimeout(WAIT);
            return new Chromium(driver, profile);
        } catch (RuntimeException e) {
            deleteTree(profile);
            throw new AssertionError("Chromium (" + BROWSER + ") did not start through " + DRIVER + ": " + e.getMessage(), e);
        }
    }

    ChromeDriver driver() {
        return driver;
    }

    /** A wait on the browser: polls until a condition holds or {@link #WAIT} passes. */
    WebDriverWait waiting() {
        WebDriverWait wait = new WebDriverWait(driver, WAIT, Duration.ofMillis(100));
        // The page swaps its fragments in as it refreshes itself: an element read a moment ago may be gone.
        wait.ignoring(StaleElementReferenceException.class);
        return wait;
    }

    /** Sets the window's size (the viewport a screenshot shows). */
    void size(int width, int height) {
        driver.manage().window().setSize(new Dimension(width, height));
    }

    /** Saves what the window shows as {@code target/console-screenshots/<name>.png}. */
    Path screenshot(String name) {
        try {
            Files.createDirectories(SCREENSHOTS);
            File shot = driver.getScreenshotAs(OutputType.FILE);
            Path target = SCREENSHOTS.resolve(name + ".png");
            Files.copy(shot.toPath(), target, StandardCopyOption.REPLACE_EXISTING);
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The value of {@code script} in the page (a JavaScript expression). */
    Object eval(String expression) {
        return driver.executeScript("return " + expression + ";");
    }

    @Override
    public void close() {
        try {
            driver.quit();
        } finally {
            deleteTree(profile);
        }
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        } catch (IOException e) {
            // a temporary directory left behind is harmless
        }
    }
}
