package org.tessera.spark.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tessera.spark.SparkTestSupport;
import org.tessera.wsi.synth.SynthCohort;

/**
 * The CLI in a JVM of its own with bin/tessera's log configuration, stopped by SIGTERM in the
 * middle of a Spark stage: it ends with the one line saying so and no stack trace.
 */
class CliInterruptTest {

  @Test
  void sigtermDuringAStageEndsWithOneLineToResume(@TempDir Path tmp) throws Exception {
    Path slides = SparkTestSupport.cohort().resolve(SynthCohort.SLIDES_DIR);
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    cmd.addAll(SparkTestSupport.jvmOptions());
    cmd.add("-Dlog4j2.configurationFile="
        + Path.of("src/main/config/log4j2-cli.properties").toAbsolutePath());
    cmd.add("-Dtessera.log.file=" + tmp.resolve("tessera.log"));
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(TesseraCli.class.getName());
    cmd.addAll(List.of("tile", "--slides", slides.toString(), "--out",
        tmp.resolve("tiles").toString(), "--assume-mpp", "0.5", "--store-pixels",
        "--pixel-format", "png", "--tiles-per-task", "4", "--master", "local[1]"));
    Process p = new ProcessBuilder(cmd).redirectError(tmp.resolve("err.txt").toFile()).start();
    boolean listed = false;
    try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(),
        StandardCharsets.UTF_8))) {
      for (String line = out.readLine(); line != null; line = out.readLine()) {
        if (line.startsWith("[tile]") && line.contains("to process")) {
          listed = true;
          Thread.sleep(500);
          p.destroy(); // SIGTERM
          break;
        }
      }
      assertTrue(listed, "the tile stage started");
      assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the CLI exits after SIGTERM");
    } finally {
      p.destroyForcibly();
    }
    String err = Files.readString(tmp.resolve("err.txt"));
    assertNotEquals(0, p.exitValue());
    assertFalse(err.contains("\tat "), err);
    List<String> lines = err.strip().lines().toList();
    assertEquals("tessera tile: interrupted; re-run the same command to resume",
        lines.get(lines.size() - 1), err);
    assertTrue(lines.size() <= 2, err);
  }
}
