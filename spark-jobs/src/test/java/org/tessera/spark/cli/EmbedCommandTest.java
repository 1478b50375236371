package org.tessera.spark.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.tessera.spark.embed.EmbedSettings;
import picocli.CommandLine;

/** The embed command's ONNX options reach the settings; misplaced ones are refused. */
class EmbedCommandTest {

  private static EmbedSettings parse(String... args) {
    EmbedCommand c = new EmbedCommand();
    new CommandLine(c).parseArgs(args);
    return c.settings();
  }

  @Test
  void onnxOptionsReachTheSettings() {
    EmbedSettings s = parse("--tiles", "t", "--out", "f", "--encoder", "onnx", "--weights",
        "uni.onnx", "--onnx-config", "uni.json", "--onnx-output", "tokens", "--pooling", "mean",
        "--mean", "0.5,0.5,0.5", "--std", "0.2,0.2,0.2", "--input-size", "448");
    assertEquals("onnx", s.encoder());
    assertEquals("uni.onnx", s.weights());
    assertEquals(448, s.inputSize());
    assertEquals(new EmbedSettings.Onnx("uni.json", "tokens", "mean", "0.5,0.5,0.5",
        "0.2,0.2,0.2"), s.onnx());
    assertEquals(EmbedSettings.Onnx.NONE, parse("--tiles", "t", "--out", "f").onnx());
  }

  @Test
  void onnxOptionsWithAnotherEncoderAreRefused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> parse("--tiles", "t", "--out", "f", "--pooling", "mean"));
    assertEquals("--onnx-config, --onnx-output, --pooling, --mean and --std apply to --encoder "
        + "onnx only, not resnet50-trunc", e.getMessage());
  }
}
