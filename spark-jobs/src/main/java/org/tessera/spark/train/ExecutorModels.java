package org.tessera.spark.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.tessera.spark.io.Json;
import java.util.HashMap;
import java.util.Map;
import org.tessera.core.nn.mil.MilConfig;
import org.tessera.core.nn.mil.MilModel;

/**
 * One model per task thread and configuration, kept for the executor's lifetime: a model builds
 * its graph once and then only receives new parameters each step. Models are not thread-safe,
 * and Spark runs one task per thread, so a thread-local cache needs no locking.
 */
final class ExecutorModels {
  private static final ObjectMapper JSON = Json.MAPPER;
  private static final ThreadLocal<Map<String, MilModel>> MODELS =
      ThreadLocal.withInitial(HashMap::new);

  private ExecutorModels() {}

  static String toJson(MilConfig config) {
    try {
      return JSON.writeValueAsString(config);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write model configuration " + config, e);
    }
  }

  /** This thread's model for a configuration (as {@link #toJson} wrote it), with {@code params}. */
  static MilModel model(String configJson, float[] params) {
    MilModel m = MODELS.get().computeIfAbsent(configJson, json -> {
      try {
        return MilModel.create(JSON.readValue(json, MilConfig.class), 0);
      } catch (JsonProcessingException e) {
        throw new IllegalArgumentException("cannot read model configuration " + json, e);
      }
    });
    m.setParams(params);
    return m;
  }
}
