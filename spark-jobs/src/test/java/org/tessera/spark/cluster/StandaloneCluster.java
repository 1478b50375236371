package org.tessera.spark.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.tessera.spark.SparkTestSupport;

/**
 * A Spark standalone cluster of separate JVMs on 127.0.0.1 (one Master, N Workers with one core
 * each) built from the test classpath, so integration tests submit applications the way a real
 * cluster runs them: through {@code SparkSubmit}, with executors in their own processes.
 *
 * <p>There is no Spark distribution here, only Maven's jars. The launcher that starts executors
 * insists on {@code $SPARK_HOME/jars} and a Scala version, so both are faked (an empty folder,
 * {@code SPARK_SCALA_VERSION}), and the whole test classpath reaches executors through
 * {@code SPARK_DIST_CLASSPATH}. Every process gets the test JVM's own module opens (the pom's
 * list) and a temporary folder under {@code target/}. Everything lives in one fresh folder under
 * {@code target/}: the daemons' logs, worker folders (executor logs are
 * {@code work/<app>/<executor>/stderr}), event logs and one log per submission.
 */
public final class StandaloneCluster implements AutoCloseable {
  /** Where the driver runs: in the submitting JVM, or on a worker. */
  public enum DeployMode { CLIENT, CLUSTER }

  /**
   * A finished submission: 0 when the application ended well, and SparkSubmit's console output
   * (in cluster mode the driver's own is in {@code worker-<i>/<driver id>/} of {@link #dir()}).
   */
  public record Submission(int exitCode, Path log) {}

  private static final Duration START_TIMEOUT = Duration.ofSeconds(120);
  private static final Duration SUBMIT_TIMEOUT = Duration.ofMinutes(10);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path dir;
  private final int workers;
  private final int masterPort;
  private final int webUiPort;
  private final List<String> jvmOptions;
  private final String classpath;
  private final Path appJar;
  private final List<Process> daemons = new ArrayList<>();
  private final HttpClient http = HttpClient.newHttpClient();
  private final Thread shutdownHook = new Thread(this::stopDaemons, "standalone-cluster-stop");
  private int submissions;

  private StandaloneCluster(Path dir, int workers) throws IOException {
    this.dir = dir;
    this.workers = workers;
    this.masterPort = freePort();
    this.webUiPort = freePort();
    this.jvmOptions = SparkTestSupport.jvmOptions();
    if (jvmOptions.stream().noneMatch(o -> o.startsWith("--add-opens"))) {
      throw new IllegalStateException("the test JVM has no --add-opens: run it under Maven, "
          + "whose surefire argLine carries Spark's Java 17 options");
    }
    this.classpath = System.getProperty("java.class.path");
    Files.createDirectories(dir.resolve("spark-home").resolve("jars"));
    Files.createDirectories(dir.resolve("events"));
    // SparkSubmit wants an application jar; the classes come from the classpath instead.
    this.appJar = dir.resolve("app.jar");
    new JarOutputStream(Files.newOutputStream(appJar), new Manifest()).close();
  }

  /**
   * Starts a Master and {@code workers} Workers (1 core, 2 GB each) in a new folder under
   * {@code parent} and returns once the Master counts them all alive.
   */
  public static StandaloneCluster start(Path parent, int workers)
      throws IOException, InterruptedException {
    return start(parent, workers, false);
  }

  /**
   * As {@link #start(Path, int)}, with {@code separateHosts} putting worker {@code i} on its own
   * loopback address {@code 127.0.0.<i+1>}, so Spark sees executors on different hosts (it never
   * runs a speculative copy of a task on the host of the attempt it races).
   */
  public static StandaloneCluster start(Path parent, int workers, boolean separateHosts)
      throws IOException, InterruptedException {
    Files.createDirectories(parent);
    StandaloneCluster c = new StandaloneCluster(
        Files.createTempDirectory(parent.toAbsolutePath(), "standalone-cluster-"), workers);
    Runtime.getRuntime().addShutdownHook(c.shutdownHook);
    try {
      c.daemons.add(c.launch("master", "127.0.0.1", "org.apache.spark.deploy.master.Master",
          List.of("--host", "127.0.0.1", "--port", "" + c.masterPort,
              "--webui-port", "" + c.webUiPort)));
      for (int i = 1; i <= workers; i++) {
        Path work = Files.createDirectories(c.dir.resolve("worker-" + i));
        String host = separateHosts ? "127.0.0." + (i + 1) : "127.0.0.1";
        c.daemons.add(c.launch("worker-" + i, host, "org.apache.spark.deploy.worker.Worker",
            List.of("--host", host, "--cores", "1", "--memory", "2g", "--webui-port", "0",
                "--work-dir", work.toString(), c.masterUrl())));
      }
      c.awaitWorkers(workers);
      return c;
    } catch (IOException | InterruptedException | RuntimeException e) {
      c.close();
      throw e;
    }
  }

  /** {@code spark://127.0.0.1:<port>}. */
  public String masterUrl() {
    return "spark://127.0.0.1:" + masterPort;
  }

  /** The folder with every log of this cluster. */
  public Path dir() {
    return dir;
  }

  /** The folder applications submitted here write their event logs to. */
  public Path eventLogDir() {
    return dir.resolve("events");
  }

  /** The Master's view of the cluster (workers, active and completed applications). */
  public JsonNode masterState() throws IOException, InterruptedException {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + webUiPort + "/json/"))
        .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new IOException("master web UI answered " + r.statusCode());
    }
    return JSON.readTree(r.body());
  }

  /**
   * Runs {@code mainClass} through {@code SparkSubmit} in a child JVM and waits for it. The
   * executors get the module opens and temporary folder of every other process here, and the
   * scheduler waits for an executor on every free worker before the first task, so work really
   * spreads (in cluster mode the driver holds one worker's only core). {@code conf} is added
   * last and wins.
   */
  public Submission submit(String mainClass, List<String> appArgs, Map<String, String> conf,
      DeployMode mode) throws IOException, InterruptedException {
    String opts = String.join(" ", jvmOptions);
    Map<String, String> all = new LinkedHashMap<>();
    all.put("spark.executor.extraJavaOptions", opts);
    all.put("spark.driver.extraJavaOptions", opts);
    all.put("spark.executor.cores", "1");
    all.put("spark.executor.memory", "1g");
    // The ratio counts against spark.cores.max; without it the scheduler waits for nothing.
    all.put("spark.cores.max", "" + (mode == DeployMode.CLUSTER ? workers - 1 : workers));
    all.put("spark.scheduler.minRegisteredResourcesRatio", "1.0");
    all.put("spark.ui.enabled", "false");
    all.put("spark.eventLog.enabled", "true");
    all.put("spark.eventLog.dir", eventLogDir().toUri().toString());
    all.put("spark.standalone.submit.waitAppCompletion", "true");
    all.putAll(conf);

    List<String> args = new ArrayList<>(List.of("--master", masterUrl(),
        "--deploy-mode", mode.name().toLowerCase(java.util.Locale.ROOT), "--class", mainClass));
    all.forEach((k, v) -> args.addAll(List.of("--conf", k + "=" + v)));
    args.add(appJar.toString());
    args.addAll(appArgs);

    Path log = dir.resolve("submit-" + (++submissions) + ".log");
    Map<String, String> driversBefore = completedDrivers();
    Process p = command("org.apache.spark.deploy.SparkSubmit", "1g", args, log, "127.0.0.1")
        .start();
    try {
      if (!p.waitFor(SUBMIT_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
        throw new IllegalStateException("SparkSubmit of " + mainClass + " still running after "
            + SUBMIT_TIMEOUT.toMinutes() + " min; log in " + log);
      }
    } finally {
      kill(p);
    }
    int code = p.exitValue();
    if (mode == DeployMode.CLUSTER && code == 0) {
      // SparkSubmit exits 0 once the driver has ended, however it ended; the Master knows.
      Map<String, String> ended = completedDrivers();
      ended.keySet().removeAll(driversBefore.keySet());
      code = List.copyOf(ended.values()).equals(List.of("FINISHED")) ? 0 : 1;
    }
    return new Submission(code, log);
  }

  /** Driver id to final state, for drivers the Master ran in cluster mode. */
  private Map<String, String> completedDrivers() throws IOException, InterruptedException {
    Map<String, String> m = new LinkedHashMap<>();
    for (JsonNode d : masterState().path("completeddrivers")) {
      m.put(d.path("id").asText(), d.path("state").asText());
    }
    return m;
  }

  /** Stops every daemon, and the executors and drivers the workers started. */
  @Override
  public void close() {
    stopDaemons();
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException shuttingDown) {
      // The hook is running or has run: nothing left to unregister.
    }
  }

  private synchronized void stopDaemons() {
    // Workers first: a Worker's shutdown hook ends its executors, the Master's would not.
    for (int i = daemons.size() - 1; i >= 0; i--) {
      kill(daemons.get(i));
    }
    daemons.clear();
  }

  /** SIGTERM so Spark's shutdown hooks run, then SIGKILL for it and anything it left behind. */
  private static void kill(Process p) {
    List<ProcessHandle> children = p.descendants().toList();
    p.destroy();
    try {
      if (!p.waitFor(15, TimeUnit.SECONDS)) {
        p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
    }
    children.forEach(ProcessHandle::destroyForcibly);
  }

  private Process launch(String name, String host, String mainClass, List<String> args)
      throws IOException {
    return command(mainClass, "256m", args, dir.resolve(name + ".log"), host).start();
  }

  private ProcessBuilder command(String mainClass, String heap, List<String> args, Path log,
      String localIp) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx" + heap);
    cmd.addAll(jvmOptions);
    cmd.addAll(List.of("-cp", classpath, mainClass));
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(log.toFile());
    Map<String, String> env = pb.environment();
    env.put("SPARK_HOME", dir.resolve("spark-home").toString());
    env.put("SPARK_SCALA_VERSION", "2.12");
    env.put("SPARK_DIST_CLASSPATH", classpath);
    env.put("SPARK_LOCAL_IP", localIp);
    return pb;
  }

  private void awaitWorkers(int n) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    int alive = 0;
    while (System.nanoTime() < deadline) {
      for (Process p : daemons) {
        if (!p.isAlive()) {
          throw new IllegalStateException("a Spark daemon exited with " + p.exitValue()
              + " while starting; logs in " + dir);
        }
      }
      try {
        alive = 0;
        for (JsonNode w : masterState().path("workers")) {
          alive += "ALIVE".equals(w.path("state").asText()) ? 1 : 0;
        }
        if (alive == n) {
          return;
        }
      } catch (IOException notListeningYet) {
        // The Master's web UI comes up a few seconds after its JVM.
      }
      Thread.sleep(500);
    }
    throw new IllegalStateException(alive + " of " + n + " workers alive after "
        + START_TIMEOUT.toSeconds() + " s; logs in " + dir);
  }

  private static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
