package org.tessera.spark.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import java.io.IOException;
import java.io.StringReader;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import okhttp3.mockwebserver.MockResponse;
import okhttp3.mockwebserver.MockWebServer;
import okhttp3.mockwebserver.RecordedRequest;
import org.apache.spark.SecurityManager;
import org.apache.spark.SparkConf;
import org.apache.spark.deploy.k8s.KubernetesConf$;
import org.apache.spark.deploy.k8s.KubernetesExecutorConf;
import org.apache.spark.deploy.k8s.SparkPod;
import org.apache.spark.resource.ResourceProfile;
import org.apache.spark.resource.ResourceProfile$;
import org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.tessera.spark.SparkTestSupport;
import scala.Option;

/**
 * Submits stages through {@code deploy/submit} in Kubernetes cluster mode to a mock API server
 * and checks what Spark's submission client creates from deploy/submit's confs and the pod
 * templates in deploy/k8s: the driver Pod, its ConfigMaps and Service.
 *
 * <p>No cluster exists here, so {@code spark-submit} is Spark's {@code SparkSubmit} class on the
 * test classpath in a child JVM, as the real script runs it, and the API server is fabric8's
 * mock. Nothing runs in the pods: this checks the submission, not the application. The executor
 * pods, which only a running driver would request, are built with Spark's executor pod builder
 * from what the driver pod receives.
 */
class KubernetesSubmitIT {
  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  private static final String NAMESPACE = "default";

  private static KubernetesMockServer server;
  private static KubernetesClient client;
  private static Path work;

  @BeforeAll
  static void startServer() throws IOException {
    server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
        new ApplyCreatesDispatcher(), false);
    server.init(InetAddress.getLoopbackAddress(), 0);
    client = server.createClient();
    work = Files.createTempDirectory(Path.of(System.getProperty("java.io.tmpdir")), "k8s-submit");
  }

  @AfterAll
  static void stopServer() {
    client.close();
    server.destroy();
  }

  @Test
  void trainDriverPodCarriesTheConfsResourcesAndTemplate() throws Exception {
    submit("train", List.of(), "--features", "/data/runs/features", "--labels",
        "/data/cohort/labels.csv", "--model", "gated-abmil", "--out", "/data/runs/train");
    Pod pod = driverPod("tessera-train");
    Container driver = pod.getSpec().getContainers().get(0);

    assertEquals("spark-kubernetes-driver", driver.getName());
    assertEquals("tessera:0.1.0", driver.getImage());
    // deploy/submit's train sizing: 4g heap + 2g overhead, one core.
    assertEquals(new Quantity("6144Mi"), driver.getResources().getLimits().get("memory"));
    assertEquals(new Quantity("6144Mi"), driver.getResources().getRequests().get("memory"));
    assertEquals(new Quantity("1"), driver.getResources().getRequests().get("cpu"));
    assertEquals(List.of("driver", "--properties-file", "/opt/spark/conf/spark.properties",
        "--class", "org.tessera.spark.jobs.TrainJob", "local:///opt/tessera/tessera.jar",
        "--features", "/data/runs/features", "--labels", "/data/cohort/labels.csv", "--model",
        "gated-abmil", "--out", "/data/runs/train"), driver.getArgs());
    Map<String, String> env = driver.getEnv().stream()
        .filter(e -> e.getValue() != null)
        .collect(Collectors.toMap(EnvVar::getName, EnvVar::getValue));
    assertEquals("17179869184", env.get("MALLOC_TRIM_THRESHOLD_"));

    // From deploy/k8s/driver-template.yaml: the shared data volume, scratch space, placement.
    assertEquals("tessera-data", volume(pod, "tessera-data").getPersistentVolumeClaim()
        .getClaimName());
    assertNotNull(volume(pod, "tessera-scratch").getEmptyDir());
    assertEquals("/data", mount(driver, "tessera-data").getMountPath());
    assertEquals("/tmp", mount(driver, "tessera-scratch").getMountPath());
    assertEquals("cpu", pod.getSpec().getNodeSelector().get("tessera.io/pool"));
    assertEquals("tessera-spark", pod.getSpec().getServiceAccountName());

    Properties conf = sparkProperties(pod);
    assertEquals("tessera train", conf.getProperty("spark.app.name"));
    String opens = DeployManifestsTest.opens();
    assertTrue(conf.getProperty("spark.driver.extraJavaOptions").startsWith(opens));
    assertTrue(conf.getProperty("spark.executor.extraJavaOptions").startsWith(opens));
    assertTrue(conf.getProperty("spark.executor.extraJavaOptions")
        .contains("-Dorg.bytedeco.javacpp.maxbytes=10g"));
    assertEquals("4", conf.getProperty("spark.executor.cores"));
    assertEquals("12g", conf.getProperty("spark.executor.memoryOverhead"));
    assertEquals("33554432", conf.getProperty("spark.executorEnv.MALLOC_MMAP_THRESHOLD_"));
    assertNull(conf.getProperty("spark.executor.resource.gpu.amount"));

    // The executor template travels to the driver in a ConfigMap of its own.
    String executorTemplate = executorTemplate(pod);
    assertTrue(executorTemplate.contains("claimName: tessera-data"));
    assertFalse(executorTemplate.contains("nvidia.com/gpu"));
    assertTrue(client.services().inNamespace(NAMESPACE).list().getItems().stream()
        .anyMatch(s -> s.getMetadata().getName().startsWith("tessera-train")));
  }

  @Test
  void embedWithGpusAsksForThemAndUsesTheCudaImage() throws Exception {
    submit("embed", List.of("--gpus", "1"), "--tiles", "/data/runs/tiles", "--out",
        "/data/runs/features");
    Pod pod = driverPod("tessera-embed");
    Container driver = pod.getSpec().getContainers().get(0);

    assertEquals("tessera-cuda:0.1.0", driver.getImage());
    assertEquals(new Quantity("3072Mi"), driver.getResources().getLimits().get("memory"));
    assertTrue(driver.getArgs().contains("org.tessera.spark.jobs.EmbedJob"));
    Properties conf = sparkProperties(pod);
    assertEquals("tessera embed", conf.getProperty("spark.app.name"));
    assertEquals("1", conf.getProperty("spark.executor.resource.gpu.amount"));
    assertEquals("1", conf.getProperty("spark.task.resource.gpu.amount"));
    assertEquals("nvidia.com", conf.getProperty("spark.executor.resource.gpu.vendor"));
    assertEquals("/opt/tessera/discover-gpus.sh",
        conf.getProperty("spark.executor.resource.gpu.discoveryScript"));
    assertEquals("tessera-cuda:0.1.0", conf.getProperty("spark.kubernetes.container.image"));
    assertTrue(executorTemplate(pod).contains("nvidia.com/gpu: 1"));

    SparkPod executor = executorPod(conf, executorTemplate(pod), pod);
    Container container = executor.container();
    assertEquals("tessera-cuda:0.1.0", container.getImage());
    assertEquals(new Quantity("1"), container.getResources().getLimits().get("nvidia.com/gpu"));
    // deploy/submit's embed sizing: 4g heap + 6g overhead, four cores.
    assertEquals(new Quantity("10240Mi"), container.getResources().getLimits().get("memory"));
    assertEquals(new Quantity("4"), container.getResources().getRequests().get("cpu"));
    assertEquals("gpu", executor.pod().getSpec().getNodeSelector().get("tessera.io/pool"));
    assertEquals("tessera-data", volume(executor.pod(), "tessera-data").getPersistentVolumeClaim()
        .getClaimName());
    assertEquals("/data", mount(container, "tessera-data").getMountPath());
    assertTrue(container.getEnv().stream().anyMatch(e -> e.getName().equals("MALLOC_TOP_PAD_")
        && "1073741824".equals(e.getValue())), () -> container.getEnv().toString());
  }

  /**
   * The pod the driver would ask for per executor: Spark's own executor pod builder, given the
   * driver's confs and the executor template exactly as they reach the driver pod.
   */
  private static SparkPod executorPod(Properties driverConf, String template, Pod driver)
      throws IOException {
    Path templateFile = work.resolve("executor-template-from-configmap.yaml");
    Files.writeString(templateFile, template);
    SparkConf conf = new SparkConf(false);
    driverConf.stringPropertyNames().forEach(k -> conf.set(k, driverConf.getProperty(k)));
    conf.set("spark.kubernetes.executor.podTemplateFile", templateFile.toString());
    try {
      KubernetesExecutorConf executorConf = KubernetesConf$.MODULE$.createExecutorConf(conf, "1",
          "spark-test-app", Option.apply(driver), ResourceProfile.DEFAULT_RESOURCE_PROFILE_ID());
      SecurityManager security = new SecurityManager(conf, Option.empty(),
          SecurityManager.$lessinit$greater$default$3());
      return new KubernetesExecutorBuilder().buildFromFeatures(executorConf, security, client,
          ResourceProfile$.MODULE$.reInitDefaultProfile(conf)).pod();
    } finally {
      ResourceProfile$.MODULE$.clearDefaultProfile();
    }
  }

  /** Runs deploy/submit with spark-submit replaced by SparkSubmit on the test classpath. */
  private static void submit(String stage, List<String> submitOptions, String... stageArgs)
      throws IOException, InterruptedException {
    Path sparkSubmit = work.resolve("spark-submit");
    List<String> java = new ArrayList<>();
    java.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    java.addAll(SparkTestSupport.jvmOptions());
    Files.writeString(sparkSubmit, "#!/bin/sh\nexec " + String.join(" ", java)
        + " -cp \"$TEST_CLASSPATH\" org.apache.spark.deploy.SparkSubmit \"$@\"\n");
    sparkSubmit.toFile().setExecutable(true);

    List<String> cmd = new ArrayList<>(List.of(ROOT.resolve("deploy/submit").toString()));
    cmd.addAll(submitOptions);
    cmd.addAll(List.of(stage, "--master", "k8s://http://127.0.0.1:" + server.getPort(),
        "--deploy-mode", "cluster",
        "--conf", "spark.kubernetes.submission.waitAppCompletion=false", "--"));
    cmd.addAll(List.of(stageArgs));
    Path log = work.resolve(stage + "-submit.log");
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(log.toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("TESSERA_") || k.startsWith("MALLOC_"));
    pb.environment().put("SPARK_SUBMIT", sparkSubmit.toString());
    pb.environment().put("TEST_CLASSPATH", System.getProperty("java.class.path"));
    // Keep the submission client off any kubeconfig or service account of this machine.
    pb.environment().put("KUBECONFIG", work.resolve("no-kubeconfig").toString());
    Process p = pb.start();
    if (!p.waitFor(3, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new AssertionError("deploy/submit " + stage + " did not finish; see " + log);
    }
    assertEquals(0, p.exitValue(), () -> "deploy/submit " + stage + " failed:\n" + read(log));
  }

  private static Pod driverPod(String prefix) {
    List<Pod> pods = client.pods().inNamespace(NAMESPACE).list().getItems().stream()
        .filter(p -> p.getMetadata().getName().startsWith(prefix))
        .toList();
    assertEquals(1, pods.size(), () -> "driver pods named " + prefix + "*: " + pods);
    assertEquals("driver", pods.get(0).getMetadata().getLabels().get("spark-role"));
    return pods.get(0);
  }

  /** The spark.properties that Spark mounts into the driver from its conf ConfigMap. */
  private static Properties sparkProperties(Pod pod) throws IOException {
    ConfigMap map = configMap(pod, "spark-conf-volume-driver");
    Properties conf = new Properties();
    conf.load(new StringReader(map.getData().get("spark.properties")));
    return conf;
  }

  private static String executorTemplate(Pod pod) {
    ConfigMap map = configMap(pod, "pod-template-volume");
    return map.getData().values().iterator().next();
  }

  private static ConfigMap configMap(Pod pod, String volumeName) {
    String name = volume(pod, volumeName).getConfigMap().getName();
    ConfigMap map = client.configMaps().inNamespace(NAMESPACE).withName(name).get();
    assertNotNull(map, () -> "no ConfigMap " + name + " was created");
    return map;
  }

  private static Volume volume(Pod pod, String name) {
    return pod.getSpec().getVolumes().stream().filter(v -> v.getName().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError("no volume " + name + " in " + pod.getSpec()));
  }

  private static VolumeMount mount(Container container, String name) {
    return container.getVolumeMounts().stream().filter(m -> m.getName().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError("no mount of " + name + " in " + container));
  }

  private static String read(Path log) {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  /**
   * The mock's CRUD dispatcher answers a server-side apply of a missing object with 404; a real
   * API server creates it, and Spark applies its ConfigMaps and Service that way after creating
   * the driver Pod.
   */
  private static final class ApplyCreatesDispatcher extends KubernetesCrudDispatcher {
    @Override
    public MockResponse handlePatch(RecordedRequest request) {
      String path = request.getPath().replaceFirst("\\?.*", "");
      boolean apply = String.valueOf(request.getHeader("Content-Type"))
          .startsWith("application/apply-patch");
      if (!apply || handleGet(path).getStatus().contains(" 200")) {
        return super.handlePatch(request);
      }
      String collection = path.substring(0, path.lastIndexOf('/'));
      Socket socket = new Socket() {
        @Override
        public InetAddress getLocalAddress() {
          return InetAddress.getLoopbackAddress();
        }

        @Override
        public int getLocalPort() {
          return server.getPort();
        }
      };
      RecordedRequest create = new RecordedRequest("POST " + collection + " HTTP/1.1",
          request.getHeaders(), request.getChunkSizes(), request.getBodySize(),
          request.getBody().clone(), request.getSequenceNumber(), socket);
      return handleCreate(create);
    }
  }
}
