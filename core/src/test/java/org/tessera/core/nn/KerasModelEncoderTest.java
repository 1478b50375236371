package org.tessera.core.nn;

import static org.bytedeco.hdf5.global.hdf5.H5F_ACC_TRUNC;
import static org.bytedeco.hdf5.global.hdf5.H5S_SCALAR;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.hdf5.Attribute;
import org.bytedeco.hdf5.DataSet;
import org.bytedeco.hdf5.DataSpace;
import org.bytedeco.hdf5.Group;
import org.bytedeco.hdf5.H5File;
import org.bytedeco.hdf5.H5Object;
import org.bytedeco.hdf5.PredType;
import org.bytedeco.hdf5.StrType;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Keras models through DL4J's import, channels-last. There is no Keras on the build machines, so
 * the .h5 files are written here in the layout Keras 2 saves: root attributes model_config,
 * keras_version and backend; weights at {@code model_weights/<layer>/<layer>/<name>:0}, listed
 * in each layer group's weight_names. The network is Conv2D 1x1 (3→4) - BatchNormalization -
 * ReLU - GlobalAveragePooling2D - Dense softmax (4→2), small enough to compute by hand.
 */
class KerasModelEncoderTest {

  @TempDir Path dir;

  private static final int SIZE = 8;
  private static final float[] KERNEL = {0.5f, -1, 0.2f, 1, 0.3f, 0.8f, -0.4f, 0.1f, -0.6f, 0.2f,
      0.9f, -0.7f}; // [1, 1, in 3, out 4]
  private static final float[] BIAS = {0.1f, -0.2f, 0.3f, 0};
  private static final float[] GAMMA = {1, 2, 0.5f, 1};
  private static final float[] BETA = {0, 0.1f, -0.1f, 0.2f};
  private static final float[] MEAN = {0.1f, 0, 0.3f, -0.3f};
  private static final float[] VAR = {1, 2, 0.5f, 1.5f};
  private static final double EPS = 1e-3;
  private static final float[] FC_KERNEL = {1, -1, 0.5f, 0.5f, -1, 1, 0, 2}; // [in 4, out 2]
  private static final float[] FC_BIAS = {0, 0.5f};

  private static final String INIT = "\"kernel_initializer\":{\"class_name\":\"GlorotUniform\","
      + "\"config\":{\"seed\":null}},\"bias_initializer\":{\"class_name\":\"Zeros\",\"config\":{}}";
  private static final String CONV = "{\"class_name\":\"Conv2D\",\"config\":{\"name\":\"conv\","
      + "%s\"filters\":4,\"kernel_size\":[1,1],\"strides\":[1,1],\"padding\":\"valid\","
      + "\"data_format\":\"channels_last\",\"dilation_rate\":[1,1],\"activation\":\"linear\","
      + "\"use_bias\":true," + INIT + "}%s}";
  private static final String BN = "{\"class_name\":\"BatchNormalization\",\"config\":{\"name\":"
      + "\"bn\",\"axis\":-1,\"momentum\":0.99,\"epsilon\":" + EPS + ",\"center\":true,"
      + "\"scale\":true}%s}";
  private static final String RELU = "{\"class_name\":\"Activation\",\"config\":{\"name\":"
      + "\"relu\",\"activation\":\"relu\"}%s}";
  private static final String GAP = "{\"class_name\":\"GlobalAveragePooling2D\",\"config\":{"
      + "\"name\":\"gap\",\"data_format\":\"channels_last\"}%s}";
  private static final String FC = "{\"class_name\":\"Dense\",\"config\":{\"name\":\"fc\","
      + "\"units\":2,\"activation\":\"softmax\",\"use_bias\":true," + INIT + "}%s}";
  private static final String INPUT_SHAPE = "\"batch_input_shape\":[null," + SIZE + "," + SIZE
      + ",3],";

  @Test
  void sequentialModelCutAtAFeatureMap() throws IOException {
    String config = "{\"class_name\":\"Sequential\",\"config\":{\"name\":\"seq\",\"layers\":["
        + String.join(",", CONV.formatted(INPUT_SHAPE, ""), BN.formatted(""),
            RELU.formatted(""), GAP.formatted(""), FC.formatted("")) + "]}}";
    Path h5 = write("seq.h5", config, List.of("conv", "bn", "relu", "gap", "fc"));
    INDArray x = tiles();
    try (PatchEncoder e = Encoders.load(EncoderRequest.of(h5.toString()).withCutLayer("relu"))) {
      assertEquals(new EncoderSpec("seq.h5", Encoders.sha256(h5), "relu", SIZE, 4), e.spec());
      assertTrue(((GraphEncoder) e).channelsLast(), "an NHWC import runs channels-last too");
      assertClose(expectedFeatures(x), e.embed(x));
    }
  }

  @Test
  void functionalModelDefaultsToItsOutput() throws IOException {
    String config = "{\"class_name\":\"Model\",\"config\":{\"name\":\"fun\",\"layers\":["
        + "{\"class_name\":\"InputLayer\",\"config\":{" + INPUT_SHAPE + "\"dtype\":\"float32\","
        + "\"sparse\":false,\"name\":\"img\"},\"name\":\"img\",\"inbound_nodes\":[]},"
        + String.join(",", CONV.formatted("", node("conv", "img")),
            BN.formatted(node("bn", "conv")), RELU.formatted(node("relu", "bn")),
            GAP.formatted(node("gap", "relu")), FC.formatted(node("fc", "gap")))
        + "],\"input_layers\":[[\"img\",0,0]],\"output_layers\":[[\"fc\",0,0]]}}";
    Path h5 = write("fun.h5", config, List.of("img", "conv", "bn", "relu", "gap", "fc"));
    INDArray x = tiles();
    try (PatchEncoder e = Encoders.load(EncoderRequest.of(h5.toString()))) {
      assertEquals("fc", e.spec().cutLayer());
      assertEquals(SIZE, e.inputSize());
      INDArray logits = expectedFeatures(x).mmul(Nd4j.create(FC_KERNEL, new long[] {4, 2}, 'c'))
          .addiRowVector(Nd4j.createFromArray(FC_BIAS));
      INDArray softmax = Nd4j.math().exp(logits);
      softmax.diviColumnVector(softmax.sum(true, 1));
      assertClose(softmax, e.embed(x));
    }
  }

  private static String node(String name, String input) {
    return ",\"name\":\"" + name + "\",\"inbound_nodes\":[[[\"" + input + "\",0,0,{}]]]";
  }

  private static INDArray tiles() {
    Nd4j.getRandom().setSeed(5);
    return Nd4j.rand(DataType.FLOAT, 3, 3, SIZE, SIZE).subi(0.5).muli(2);
  }

  /** Average over pixels of relu(bn(conv(x))), computed directly from the weights. */
  private static INDArray expectedFeatures(INDArray x) {
    int batch = (int) x.size(0);
    double[][] out = new double[batch][4];
    for (int b = 0; b < batch; b++) {
      for (int y = 0; y < SIZE; y++) {
        for (int w = 0; w < SIZE; w++) {
          for (int o = 0; o < 4; o++) {
            double z = BIAS[o];
            for (int c = 0; c < 3; c++) {
              z += KERNEL[c * 4 + o] * x.getDouble(b, c, y, w);
            }
            z = (z - MEAN[o]) / Math.sqrt(VAR[o] + EPS) * GAMMA[o] + BETA[o];
            out[b][o] += Math.max(z, 0) / (SIZE * SIZE);
          }
        }
      }
    }
    return Nd4j.create(out).castTo(DataType.FLOAT);
  }

  private static void assertClose(INDArray expected, INDArray actual) {
    assertArrayEquals(expected.shape(), actual.shape());
    assertTrue(expected.equalsWithEps(actual, 1e-5), "expected " + expected + " got " + actual);
  }

  private Path write(String name, String modelConfig, List<String> layers) {
    Map<String, Map<String, float[]>> weights = new LinkedHashMap<>();
    for (String layer : layers) {
      weights.put(layer, new LinkedHashMap<>());
    }
    weights.get("conv").put("kernel:0", KERNEL);
    weights.get("conv").put("bias:0", BIAS);
    weights.get("bn").put("gamma:0", GAMMA);
    weights.get("bn").put("beta:0", BETA);
    weights.get("bn").put("moving_mean:0", MEAN);
    weights.get("bn").put("moving_variance:0", VAR);
    weights.get("fc").put("kernel:0", FC_KERNEL);
    weights.get("fc").put("bias:0", FC_BIAS);
    Map<float[], long[]> shapes = Map.of(KERNEL, new long[] {1, 1, 3, 4},
        FC_KERNEL, new long[] {4, 2});

    Path file = dir.resolve(name);
    H5File h5 = new H5File(file.toString(), H5F_ACC_TRUNC());
    try {
      strings(h5, "model_config", true, modelConfig);
      strings(h5, "keras_version", true, "2.2.4");
      strings(h5, "backend", true, "tensorflow");
      Group root = h5.createGroup("model_weights");
      strings(root, "layer_names", false, layers.toArray(String[]::new));
      for (Map.Entry<String, Map<String, float[]>> layer : weights.entrySet()) {
        Group group = root.createGroup(layer.getKey());
        strings(group, "weight_names", false, layer.getValue().keySet().stream()
            .map(w -> layer.getKey() + "/" + w).toArray(String[]::new));
        if (!layer.getValue().isEmpty()) {
          Group inner = group.createGroup(layer.getKey());
          for (Map.Entry<String, float[]> w : layer.getValue().entrySet()) {
            long[] shape = shapes.getOrDefault(w.getValue(), new long[] {w.getValue().length});
            dataset(inner, w.getKey(), shape, w.getValue());
          }
          inner.close();
        }
        group.close();
      }
      root.close();
    } finally {
      h5.close();
    }
    return file;
  }

  /** A fixed-length string attribute, scalar or 1-D, as h5py writes Keras's byte strings. */
  private static void strings(H5Object target, String name, boolean scalar, String... values) {
    int len = 1;
    for (String v : values) {
      len = Math.max(len, v.getBytes(StandardCharsets.UTF_8).length);
    }
    byte[] data = new byte[len * values.length];
    for (int i = 0; i < values.length; i++) {
      byte[] b = values[i].getBytes(StandardCharsets.UTF_8);
      System.arraycopy(b, 0, data, i * len, b.length);
    }
    StrType type = new StrType(PredType.C_S1(), len);
    DataSpace space = scalar ? new DataSpace(H5S_SCALAR) : new DataSpace(1,
        new long[] {values.length});
    Attribute attribute = target.createAttribute(name, type, space);
    attribute.write(type, new BytePointer(data));
    attribute.close();
    space.close();
    type.close();
  }

  private static void dataset(Group group, String name, long[] shape, float[] values) {
    org.bytedeco.hdf5.DataType type = new org.bytedeco.hdf5.DataType(PredType.NATIVE_FLOAT());
    DataSpace space = new DataSpace(shape.length, shape);
    DataSet data = group.createDataSet(name, type, space);
    data.write(new FloatPointer(values), type);
    data.close();
    space.close();
  }
}
