package org.tessera.spark.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.tessera.spark.SparkTestSupport;
import org.tessera.spark.cli.TesseraCli;
import org.tessera.spark.io.TesseraKryo;
import picocli.CommandLine;

/**
 * Keeps deploy/ honest without a cluster: every Kubernetes manifest parses and names real main
 * classes, images and CLI flags; the spark-operator manifests carry deploy/submit's sizing and JVM
 * options for their stage; deploy/submit is valid bash and its dry run builds the command line
 * each stage needs; and the Java 17 option list is the same in deploy/, bin/tessera's source and
 * the pom's test JVMs.
 */
class DeployManifestsTest {
  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  private static final Path K8S = ROOT.resolve("deploy/k8s");
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final String JAR = "local:///opt/tessera/tessera.jar";
  private static final Pattern SUBMIT_CONF = Pattern.compile("--conf '?([^=']+)=(.*?)'? \\\\?$",
      Pattern.MULTILINE);

  /** deploy/java17-opens.conf as one space-separated string, the form JVM option confs take. */
  static String opens() throws IOException {
    return String.join(" ", opensList());
  }

  private static List<String> opensList() throws IOException {
    return Files.readAllLines(ROOT.resolve("deploy/java17-opens.conf")).stream()
        .map(l -> l.replaceFirst("#.*", "").trim())
        .filter(l -> !l.isEmpty())
        .toList();
  }

  @Test
  void everyManifestParsesAndTheSparkOnesMatchTheirStage() throws Exception {
    List<JsonNode> docs = new ArrayList<>();
    try (Stream<Path> files = Files.walk(K8S)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
        YAML.readValues(YAML.getFactory().createParser(f.toFile()), JsonNode.class)
            .readAll().stream().filter(d -> !d.isNull()).forEach(docs::add);
      }
    }
    Map<String, Integer> kinds = new TreeMap<>();
    for (JsonNode doc : docs) {
      String kind = doc.path("kind").asText();
      kinds.merge(kind, 1, Integer::sum);
      assertFalse(doc.path("apiVersion").asText().isEmpty(), () -> "no apiVersion: " + doc);
      switch (kind) {
        case "SparkApplication" -> {
          assertEquals("sparkoperator.k8s.io/v1beta2", doc.get("apiVersion").asText());
          checkSparkApplication(doc.get("spec"));
        }
        case "ScheduledSparkApplication" -> {
          assertEquals("sparkoperator.k8s.io/v1beta2", doc.get("apiVersion").asText());
          assertCron(doc.at("/spec/schedule").asText());
          assertEquals("Forbid", doc.at("/spec/concurrencyPolicy").asText());
          checkSparkApplication(doc.at("/spec/template"));
        }
        case "CronJob" -> {
          assertEquals("batch/v1", doc.get("apiVersion").asText());
          assertCron(doc.at("/spec/schedule").asText());
          assertEquals("Forbid", doc.at("/spec/concurrencyPolicy").asText());
          checkSubmitterPod(doc.at("/spec/jobTemplate/spec/template/spec"));
        }
        case "Pod" -> checkPodTemplate(doc);
        default -> { }
      }
    }
    assertEquals(2, kinds.get("SparkApplication"), kinds::toString);
    assertEquals(1, kinds.get("ScheduledSparkApplication"), kinds::toString);
    assertEquals(1, kinds.get("CronJob"), kinds::toString);
    assertEquals(3, kinds.get("Pod"), kinds::toString);
  }

  private static void checkSparkApplication(JsonNode spec) throws Exception {
    String mainClass = spec.get("mainClass").asText();
    String stage = stageOf(mainClass);
    assertEquals("Java", spec.get("type").asText());
    assertEquals("cluster", spec.get("mode").asText());
    assertEquals(JAR, spec.get("mainApplicationFile").asText());
    List<String> args = new ArrayList<>();
    spec.get("arguments").forEach(a -> args.add(a.asText()));
    checkStageArgs(stage, args);

    boolean gpu = spec.path("executor").has("gpu");
    assertEquals(gpu ? "tessera-cuda:0.1.0" : "tessera:0.1.0", spec.get("image").asText());
    Map<String, String> submit = dryRunConfs(gpu ? List.of("--gpus", "1") : List.of(), stage);
    JsonNode conf = spec.get("sparkConf");
    assertEquals(submit.get("spark.app.name"), conf.get("spark.app.name").asText());
    for (String role : List.of("driver", "executor")) {
      JsonNode r = spec.get(role);
      assertEquals(submit.get("spark." + role + ".memory"), r.get("memory").asText(), role);
      assertEquals(submit.get("spark." + role + ".memoryOverhead"),
          r.get("memoryOverhead").asText(), role);
      assertEquals(submit.get("spark." + role + ".extraJavaOptions"),
          r.get("javaOptions").asText(), role);
    }
    assertEquals(submit.get("spark.executor.cores"), spec.at("/executor/cores").asText());
    for (String key : List.of("spark.executor.extraLibraryPath", "spark.serializer",
        "spark.kryo.registrator", "spark.executorEnv.MALLOC_MMAP_THRESHOLD_", "spark.executorEnv.MALLOC_TRIM_THRESHOLD_",
        "spark.executorEnv.MALLOC_TOP_PAD_", "spark.kubernetes.driverEnv.MALLOC_TOP_PAD_",
        "spark.executor.resource.gpu.amount", "spark.task.resource.gpu.amount",
        "spark.executor.resource.gpu.vendor", "spark.executor.resource.gpu.discoveryScript")) {
      assertEquals(submit.get(key), conf.has(key) ? conf.get(key).asText() : null, key);
    }
    if (gpu) {
      assertEquals("nvidia.com/gpu", spec.at("/executor/gpu/name").asText());
      assertEquals(conf.get("spark.executor.resource.gpu.amount").asText(),
          spec.at("/executor/gpu/quantity").asText());
    }
    assertEquals("tessera-data", conf.get(
        "spark.kubernetes.executor.volumes.persistentVolumeClaim.tessera-data.options.claimName")
        .asText());
  }

  private static void checkSubmitterPod(JsonNode pod) throws Exception {
    JsonNode container = pod.at("/containers/0");
    assertEquals("tessera:0.1.0", container.get("image").asText());
    List<String> command = new ArrayList<>();
    container.get("command").forEach(c -> command.add(c.asText()));
    assertEquals("/opt/tessera/deploy/submit", command.get(0));
    int split = command.indexOf("--");
    assertTrue(split > 1, () -> "no '--' between spark-submit options and stage args: " + command);
    assertTrue(command.contains("k8s://https://kubernetes.default.svc"), command::toString);
    checkStageArgs(command.get(1), command.subList(split + 1, command.size()));
  }

  private static void checkPodTemplate(JsonNode pod) {
    String component = pod.at("/metadata/labels/app.kubernetes.io~1component").asText();
    JsonNode container = pod.at("/spec/containers/0");
    String expected = component.equals("driver")
        ? "spark-kubernetes-driver" : "spark-kubernetes-executor";
    assertEquals(expected, container.get("name").asText(), component);
    assertEquals("tessera-data",
        pod.at("/spec/volumes/0/persistentVolumeClaim/claimName").asText(), component);
    assertEquals(component.equals("executor-gpu"),
        container.at("/resources/limits").has("nvidia.com/gpu"), component);
  }

  /** The arguments parse as the stage's command line: real flags, required ones given. */
  private static void checkStageArgs(String stage, List<String> args) {
    assertNotNull(new CommandLine(new TesseraCli()).getSubcommands().get(stage), stage);
    new CommandLine(new TesseraCli())
        .parseArgs(TesseraCli.prepend(stage, args.toArray(String[]::new)));
  }

  /** TrainJob -> train, ImportFeaturesJob -> import-features; the class must exist. */
  private static String stageOf(String mainClass) throws ReflectiveOperationException {
    Class<?> job = Class.forName(mainClass);
    job.getMethod("main", String[].class);
    String simple = job.getSimpleName().replaceFirst("Job$", "");
    return simple.replaceAll("([a-z])([A-Z])", "$1-$2").toLowerCase(java.util.Locale.ROOT);
  }

  private static void assertCron(String schedule) {
    assertEquals(5, schedule.trim().split("\\s+").length, () -> "not a cron schedule: " + schedule);
  }

  @Test
  void scriptsAreValidBashAndSubmitsDryRunHasClassOpensAndAppName() throws Exception {
    try (Stream<Path> files = Files.walk(ROOT.resolve("deploy"))) {
      for (Path script : files.filter(p -> p.endsWith("submit") || p.toString().endsWith(".sh"))
          .toList()) {
        assertEquals("", run(List.of("bash", "-n", script.toString()), 0), script::toString);
      }
    }

    String train = run(List.of(ROOT.resolve("deploy/submit").toString(), "--dry-run", "train",
        "--master", "yarn", "--conf", "spark.executor.memory=6g", "--", "--features", "f",
        "--labels", "l.csv", "--model", "gated-abmil", "--out", "o"), 0);
    assertTrue(train.contains("--class org.tessera.spark.jobs.TrainJob \\\n"), train);
    Map<String, String> conf = confs(train);
    assertEquals("tessera train", conf.get("spark.app.name"));
    assertTrue(conf.get("spark.driver.extraJavaOptions").startsWith(opens()), train);
    assertTrue(conf.get("spark.executor.extraJavaOptions").startsWith(opens()), train);
    // A --conf before "--" comes after the defaults, so spark-submit takes it.
    assertEquals("6g", conf.get("spark.executor.memory"));
    assertTrue(train.endsWith("--features f \\\n  --labels l.csv \\\n  --model gated-abmil \\\n"
        + "  --out o\n"), train);
    // Kryo only with the registrator that serializes the stages' records.
    assertEquals("org.apache.spark.serializer.KryoSerializer", conf.get("spark.serializer"));
    assertEquals(TesseraKryo.class.getName(), conf.get("spark.kryo.registrator"));

    String collaborate = run(List.of(ROOT.resolve("deploy/submit").toString(), "--dry-run",
        "--gpus", "1", "collaborate", "--", "--workers", "3"), 0);
    Map<String, String> c = confs(collaborate);
    assertTrue(collaborate.contains("--class org.tessera.spark.jobs.CollaborateJob"));
    assertEquals("3", c.get("spark.executor.instances"));
    assertEquals(c.get("spark.executor.cores"), c.get("spark.task.cpus"));
    assertEquals("false", c.get("spark.dynamicAllocation.enabled"));
    assertEquals("1", c.get("spark.executor.resource.gpu.amount"));

    String unknown = run(List.of(ROOT.resolve("deploy/submit").toString(), "--dry-run", "tiles"),
        2);
    assertTrue(unknown.startsWith("deploy/submit: unknown stage 'tiles'"), unknown);
  }

  @Test
  void theJava17OptionsAreTheSameEverywhere() throws IOException {
    List<String> opens = opensList();
    assertTrue(opens.size() > 10, opens::toString);
    // Surefire starts this JVM with the pom's tessera.jvm.opens.
    assertEquals(opens, SparkTestSupport.jvmOptions().stream()
        .filter(o -> o.startsWith("--add-opens") || o.startsWith("-Djdk.reflect")).toList());
    String cli = Files.readString(ROOT.resolve("bin/tessera"));
    assertTrue(cli.contains("deploy/java17-opens.conf"), "bin/tessera no longer reads the list");
    assertFalse(cli.contains("--add-opens"), "bin/tessera has its own copy of the list");
    // The malloc settings deploy/submit gives executors are bin/tessera's defaults.
    Matcher m = Pattern.compile("(MALLOC_\\w+_)=\"\\$\\{MALLOC_\\w+:-(\\d+)}\"").matcher(cli);
    Map<String, String> submit = dryRunConfs(List.of(), "tile");
    int found = 0;
    while (m.find()) {
      assertEquals(m.group(2), submit.get("spark.executorEnv." + m.group(1)), m.group(1));
      found++;
    }
    assertEquals(3, found);
  }

  private static Map<String, String> dryRunConfs(List<String> options, String stage)
      throws IOException {
    List<String> cmd = new ArrayList<>(List.of(ROOT.resolve("deploy/submit").toString(),
        "--dry-run"));
    cmd.addAll(options);
    cmd.addAll(List.of(stage, "--master", "k8s://https://example:6443", "--"));
    return confs(run(cmd, 0));
  }

  /** The --conf pairs of a dry run, the last one winning as in spark-submit. */
  private static Map<String, String> confs(String dryRun) {
    Map<String, String> conf = new TreeMap<>();
    Matcher m = SUBMIT_CONF.matcher(dryRun);
    while (m.find()) {
      conf.put(m.group(1), m.group(2));
    }
    return conf;
  }

  private static String run(List<String> cmd, int expectedExit) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    // The defaults are under test, not whatever this machine's environment overrides.
    pb.environment().keySet().removeIf(k -> k.startsWith("TESSERA_") || k.startsWith("MALLOC_"));
    pb.environment().put("TESSERA_JAR", JAR);
    Process p = pb.start();
    try {
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(p.waitFor(30, TimeUnit.SECONDS));
      assertEquals(expectedExit, p.exitValue(), () -> String.join(" ", cmd) + ":\n" + out);
      return out;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
  }
}
