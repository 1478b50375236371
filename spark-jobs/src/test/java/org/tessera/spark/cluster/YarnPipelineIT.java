package org.tessera.spark.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.yarn.api.records.ApplicationReport;
import org.apache.hadoop.yarn.api.records.FinalApplicationStatus;
import org.apache.hadoop.yarn.api.records.YarnApplicationState;
import org.apache.hadoop.yarn.client.api.YarnClient;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.server.MiniYARNCluster;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tessera.spark.SparkTestSupport;
import org.tessera.spark.cli.TesseraCli;
import org.tessera.wsi.synth.SynthCohort;

/**
 * tile, embed and train on YARN, with slides, labels and every output on HDFS, give what the
 * same command lines give on local mode with local files; then {@code inspect} in YARN cluster
 * mode, with the driver in the ApplicationMaster's container. An in-process MiniDFSCluster (one
 * DataNode) and MiniYARNCluster (one NodeManager with room for an ApplicationMaster and two
 * one-core executors) stand in for a Hadoop cluster, so the test catches what only YARN exposes:
 * executors in containers that know nothing but the application's configuration, slides that
 * must be copied from HDFS before OpenSlide opens them, labels and models read and written
 * through Hadoop rather than java.io.
 *
 * <p>There is no Spark distribution here. As in Spark's own YARN tests, {@code spark.yarn.jars}
 * names an empty local jar so nothing is uploaded, and the containers get the test classpath
 * through {@code extraClassPath}, which works because they run on this machine. Drivers run in
 * child JVMs with the cluster's configuration on their classpath and in {@code YARN_CONF_DIR},
 * the way {@code spark-submit} sets them up. Everything lives in one fresh folder under
 * {@code target/} (submission logs, the written configuration, event logs); YARN keeps the
 * containers' logs in {@code target/test/data/YarnPipelineIT/}.
 */
class YarnPipelineIT {
  private static final Duration APP_TIMEOUT = Duration.ofMinutes(5);
  private static final String INSPECT_NAME = "tessera inspect";

  static SparkSession spark;
  static MiniDFSCluster dfs;
  static MiniYARNCluster yarn;
  static Path dir;
  static Path confDir;
  static Path emptyJar;
  static Path local;
  static String onHdfs;
  static Map<String, Integer> exitCodes = new LinkedHashMap<>();
  static List<ApplicationReport> reports;
  static Map<String, List<JsonNode>> events;
  static long t0;

  @TempDir
  static Path tmp;

  /** The unit tests' six-slide cohort, once on local[2] from local files, once on YARN. */
  @BeforeAll
  static void setUp() throws Exception {
    t0 = System.nanoTime();
    spark = SparkTestSupport.localSession("YarnPipelineIT");
    Path cohort = SparkTestSupport.cohort();
    Path slides = cohort.resolve(SynthCohort.SLIDES_DIR);
    Path labels = cohort.resolve(SynthCohort.LABELS_CSV);
    local = tmp.resolve("local");
    PipelineRuns.runLocally(slides.toString(), labels.toString(), local.toString());
    log("local mode done");

    dir = Files.createTempDirectory(Path.of("target").toAbsolutePath(), "yarn-cluster-");
    startClusters();
    log("HDFS at " + dfs.getURI() + " and YARN up, logs in " + dir);

    FileSystem fs = dfs.getFileSystem();
    String root = dfs.getURI() + "/it";
    fs.copyFromLocalFile(new org.apache.hadoop.fs.Path(slides.toUri()),
        new org.apache.hadoop.fs.Path(root + "/slides"));
    fs.copyFromLocalFile(new org.apache.hadoop.fs.Path(labels.toUri()),
        new org.apache.hadoop.fs.Path(root + "/labels.csv"));
    onHdfs = root + "/out";
    for (List<String> args : PipelineRuns.commands(root + "/slides", root + "/labels.csv",
        onHdfs)) {
      exitCodes.put(args.get(0), submitClientMode(args));
      assertEquals(0, exitCodes.get(args.get(0)), args.get(0) + " on YARN failed; log in "
          + dir.resolve(args.get(0) + ".log"));
      log(args.get(0) + " on YARN done");
    }
    exitCodes.put("inspect", submitClusterMode(List.of("inspect", onHdfs + "/tiles")));
    log("inspect in cluster mode done");

    try (YarnClient rm = YarnClient.createYarnClient()) {
      rm.init(yarn.getConfig());
      rm.start();
      reports = rm.getApplications();
    }
    events = PipelineRuns.eventLogs(dir.resolve("events"));
  }

  @AfterAll
  static void tearDown() {
    if (yarn != null) {
      yarn.stop();
    }
    if (dfs != null) {
      dfs.shutdown();
    }
    if (spark != null) {
      spark.stop();
    }
    log("whole class");
  }

  private static void log(String what) {
    System.out.printf("YarnPipelineIT: %s at %.1f s%n", what, (System.nanoTime() - t0) / 1e9);
  }

  /**
   * HDFS first, so YARN's configuration names it as the default file system: Spark stages the
   * application's files there, as on a real cluster. The configuration both end up with is
   * written out for the drivers.
   */
  private static void startClusters() throws IOException, InterruptedException {
    Configuration conf = new Configuration();
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, dir.resolve("dfs").toString());
    dfs = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
    dfs.waitActive();

    YarnConfiguration yc = new YarnConfiguration(conf);
    yc.set(FileSystem.FS_DEFAULT_NAME_KEY, dfs.getURI().toString());
    // The minicluster jar has no capacity-scheduler.xml: one queue with everything, as in
    // Spark's BaseYarnClusterSuite.
    yc.set("yarn.scheduler.capacity.root.queues", "default");
    yc.setInt("yarn.scheduler.capacity.root.default.capacity", 100);
    yc.setFloat("yarn.scheduler.capacity.root.default.user-limit-factor", 1);
    yc.setInt("yarn.scheduler.capacity.root.default.maximum-capacity", 100);
    yc.set("yarn.scheduler.capacity.root.default.state", "RUNNING");
    yc.set("yarn.scheduler.capacity.root.default.acl_submit_applications", "*");
    yc.set("yarn.scheduler.capacity.root.default.acl_administer_queue", "*");
    yc.setInt("yarn.scheduler.capacity.node-locality-delay", -1);
    // A full disk on a build machine must not mark the only node unhealthy.
    yc.set("yarn.nodemanager.disk-health-checker.max-disk-utilization-per-disk-percentage",
        "100.0");
    // Room for an ApplicationMaster (or a cluster-mode driver) and two executors of 1 GB and
    // one core; containers are rounded up to a multiple of the minimum allocation.
    yc.setInt(YarnConfiguration.NM_PMEM_MB, 6144);
    yc.setInt(YarnConfiguration.NM_VCORES, 4);
    yc.setInt(YarnConfiguration.RM_SCHEDULER_MINIMUM_ALLOCATION_MB, 256);
    // Java reserves far more address space than it uses; only resident memory is a real limit.
    yc.setBoolean(YarnConfiguration.NM_VMEM_CHECK_ENABLED, false);
    yarn = new MiniYARNCluster(YarnPipelineIT.class.getSimpleName(), 1, 1, 1);
    yarn.init(yc);
    yarn.start();
    // start() may return before the ResourceManager has put its real port in the configuration.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (yarn.getConfig().get(YarnConfiguration.RM_ADDRESS).endsWith(":0")) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the ResourceManager has no port after 30 s");
      }
      Thread.sleep(100);
    }

    confDir = Files.createDirectories(dir.resolve("hadoop-conf"));
    for (String file : List.of("core-site.xml", "yarn-site.xml")) {
      try (OutputStream out = Files.newOutputStream(confDir.resolve(file))) {
        yarn.getConfig().writeXml(out);
      }
    }
    Files.createDirectories(dir.resolve("spark-home").resolve("jars"));
    Files.createDirectories(dir.resolve("events"));
    emptyJar = dir.resolve("empty.jar");
    new JarOutputStream(Files.newOutputStream(emptyJar), new Manifest()).close();
  }

  /** The driver in a child JVM running the CLI itself, as {@code bin/tessera --master yarn}. */
  private static int submitClientMode(List<String> args)
      throws IOException, InterruptedException {
    List<String> cli = new ArrayList<>(args);
    cli.addAll(List.of("--master", "yarn"));
    sparkConf("tessera " + args.get(0)).forEach((k, v) -> cli.addAll(List.of("--conf",
        k + "=" + v)));
    return run(TesseraCli.class.getName(), cli, dir.resolve(args.get(0) + ".log"));
  }

  /**
   * The driver in the ApplicationMaster's container, through {@code SparkSubmit}, which exits
   * with an error when the application fails.
   */
  private static int submitClusterMode(List<String> args)
      throws IOException, InterruptedException {
    List<String> submit = new ArrayList<>(List.of("--master", "yarn", "--deploy-mode", "cluster",
        "--class", TesseraCli.class.getName()));
    Map<String, String> conf = new LinkedHashMap<>(sparkConf(INSPECT_NAME));
    // The cluster-mode ApplicationMaster also hosts the driver and takes most of the one
    // NodeManager's memory: asking for a second executor there only waits out the scheduler's
    // registration timeout. inspect needs one.
    conf.put("spark.executor.instances", "1");
    conf.forEach((k, v) -> submit.addAll(List.of("--conf", k + "=" + v)));
    submit.add(emptyJar.toString());
    submit.addAll(args);
    return run("org.apache.spark.deploy.SparkSubmit", submit, dir.resolve(args.get(0) + ".log"));
  }

  /**
   * Two one-core executors that every stage waits for before its first task, so work really
   * spreads; one attempt, so a failure shows at once.
   */
  private static Map<String, String> sparkConf(String appName) {
    String classpath = System.getProperty("java.class.path");
    String opts = String.join(" ", SparkTestSupport.jvmOptions());
    String javaHome = System.getProperty("java.home");
    Map<String, String> c = new LinkedHashMap<>();
    c.put("spark.app.name", appName);
    c.put("spark.yarn.jars", "local:" + emptyJar);
    c.put("spark.driver.extraClassPath", classpath);
    c.put("spark.executor.extraClassPath", classpath);
    c.put("spark.driver.extraJavaOptions", opts);
    c.put("spark.executor.extraJavaOptions", opts);
    c.put("spark.yarn.am.extraJavaOptions", opts);
    c.put("spark.yarn.appMasterEnv.JAVA_HOME", javaHome);
    c.put("spark.executorEnv.JAVA_HOME", javaHome);
    // Containers get no environment from the NodeManager: bind them to loopback like the rest.
    c.put("spark.yarn.appMasterEnv.SPARK_LOCAL_IP", "127.0.0.1");
    c.put("spark.executorEnv.SPARK_LOCAL_IP", "127.0.0.1");
    c.put("spark.yarn.maxAppAttempts", "1");
    c.put("spark.yarn.am.memory", "512m");
    c.put("spark.driver.memory", "1g");
    c.put("spark.executor.instances", "2");
    c.put("spark.executor.cores", "1");
    c.put("spark.executor.memory", "1g");
    c.put("spark.scheduler.minRegisteredResourcesRatio", "1.0");
    c.put("spark.scheduler.maxRegisteredResourcesWaitingTime", "120s");
    c.put("spark.ui.enabled", "false");
    c.put("spark.eventLog.enabled", "true");
    c.put("spark.eventLog.dir", dir.resolve("events").toUri().toString());
    return c;
  }

  private static int run(String mainClass, List<String> args, Path log)
      throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx1g");
    cmd.addAll(SparkTestSupport.jvmOptions());
    cmd.addAll(List.of("-cp", confDir + java.io.File.pathSeparator
        + System.getProperty("java.class.path"), mainClass));
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(log.toFile());
    Map<String, String> env = pb.environment();
    env.put("JAVA_HOME", System.getProperty("java.home"));
    env.put("SPARK_HOME", dir.resolve("spark-home").toString());
    env.put("YARN_CONF_DIR", confDir.toString());
    env.put("SPARK_LOCAL_IP", "127.0.0.1");
    Process p = pb.start();
    try {
      if (!p.waitFor(APP_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
        throw new IllegalStateException(mainClass + " " + args.get(0) + " still running after "
            + APP_TIMEOUT.toMinutes() + " min; log in " + log);
      }
      return p.exitValue();
    } finally {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
    }
  }

  /** Container folders of each application in the NodeManager's log folders, by app name. */
  private static Map<String, Long> containersByApp() throws IOException {
    Map<String, String> names = new TreeMap<>();
    reports.forEach(r -> names.put(r.getApplicationId().toString(), r.getName()));
    Map<String, Long> counts = new TreeMap<>();
    for (String logDir : yarn.getNodeManager(0).getConfig()
        .getTrimmedStrings(YarnConfiguration.NM_LOG_DIRS)) {
      for (Map.Entry<String, String> app : names.entrySet()) {
        Path appDir = Path.of(logDir, app.getKey());
        if (Files.isDirectory(appDir)) {
          try (Stream<Path> containers = Files.list(appDir)) {
            counts.merge(app.getValue(), containers.filter(Files::isDirectory).count(),
                Long::sum);
          }
        }
      }
    }
    return counts;
  }

  @Test
  void everyApplicationFinishedWellOnTheResourceManager() {
    Map<String, String> states = new TreeMap<>();
    for (ApplicationReport r : reports) {
      states.put(r.getName(), r.getYarnApplicationState() + "/" + r.getFinalApplicationStatus());
    }
    String ok = YarnApplicationState.FINISHED + "/" + FinalApplicationStatus.SUCCEEDED;
    Map<String, String> expected = new TreeMap<>();
    for (String stage : PipelineRuns.STAGES) {
      expected.put("tessera " + stage, ok);
    }
    expected.put(INSPECT_NAME, ok);
    assertEquals(expected, states, "application states; submission logs in " + dir);
  }

  /** The AM's container and at least two executors' for each client-mode stage. */
  @Test
  void everyStageRanOnTwoYarnExecutors() throws IOException {
    Map<String, Long> containers = containersByApp();
    for (String stage : PipelineRuns.STAGES) {
      long n = containers.getOrDefault("tessera " + stage, 0L);
      assertTrue(n >= 3, stage + ": " + n + " containers, the AM's and two executors' wanted");
    }
    PipelineRuns.assertEveryStageRanOnTwoExecutors(events);
  }

  /** The driver's stdout is the ApplicationMaster container's, in YARN's log folder. */
  @Test
  void clusterModeRunsTheDriverInTheApplicationMaster() throws IOException {
    assertEquals(0, exitCodes.get("inspect"), "inspect in cluster mode failed; log in "
        + dir.resolve("inspect.log"));
    String appId = reports.stream().filter(r -> r.getName().equals(INSPECT_NAME)).findFirst()
        .orElseThrow().getApplicationId().toString();
    String logDir = yarn.getNodeManager(0).getConfig()
        .getTrimmedStrings(YarnConfiguration.NM_LOG_DIRS)[0];
    Path amStdout;
    try (Stream<Path> containers = Files.list(Path.of(logDir, appId))) {
      amStdout = containers.filter(c -> c.getFileName().toString().endsWith("_000001"))
          .findFirst().orElseThrow().resolve("stdout");
    }
    String printed = Files.readString(amStdout);
    assertTrue(printed.contains(onHdfs + "/tiles"), "inspect printed: " + printed);
  }

  @Test
  void tileIndexIsTheSame() {
    PipelineRuns.assertSameTileIndex(spark, local.toString(), onHdfs);
  }

  @Test
  void featuresAreTheSame() {
    PipelineRuns.assertSameFeatures(spark, local.toString(), onHdfs);
  }

  @Test
  void trainedModelAndPredictionsAreTheSame() throws IOException {
    PipelineRuns.assertSameModel(spark, local.toString(), onHdfs);
  }
}
