package org.tessera.spark.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.tessera.spark.io.Json;
import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.IOException;
import java.util.Map;
import java.util.TreeMap;
import javax.imageio.ImageIO;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Ground-truth lesion masks in the layout {@code tessera synth} writes: {@code DIR/masks.json}
 * (the level-0 downsample of every mask and each slide's mask size) and {@code
 * DIR/<slide_id>.png}, one byte per pixel, 255 = lesion. Mask pixel (mx, my) covers level-0
 * pixels [mx * d, (mx + 1) * d) x [my * d, (my + 1) * d) for downsample d.
 */
final class LesionMasks {
  static final String INDEX = "masks.json";

  private static final ObjectMapper JSON = Json.MAPPER;

  private final Path dir;
  private final int downsample;
  /** Slide id to {mask width, mask height}. */
  private final Map<String, int[]> sizes;

  private LesionMasks(Path dir, int downsample, Map<String, int[]> sizes) {
    this.dir = dir;
    this.downsample = downsample;
    this.sizes = sizes;
  }

  static boolean present(Configuration conf, Path dir) throws IOException {
    Path index = new Path(dir, INDEX);
    return index.getFileSystem(conf).exists(index);
  }

  static LesionMasks read(Configuration conf, Path dir) throws IOException {
    Path index = new Path(dir, INDEX);
    FileSystem fs = index.getFileSystem(conf);
    if (!fs.exists(index)) {
      throw new IllegalArgumentException(dir + " has no " + INDEX + ": pass --masks the masks"
          + " folder tessera synth wrote (COHORT/masks), or leave --masks out");
    }
    JsonNode json;
    try (var in = fs.open(index)) {
      json = JSON.readTree(in);
    }
    int downsample = json.path("downsample").asInt(0);
    if (downsample < 1) {
      throw new IllegalArgumentException(index + " has no positive \"downsample\": give the"
          + " level-0 pixels per mask pixel");
    }
    Map<String, int[]> sizes = new TreeMap<>();
    for (JsonNode s : json.path("slides")) {
      int w = s.path("mask_width").asInt(0);
      int h = s.path("mask_height").asInt(0);
      if (s.path("slide_id").asText("").isEmpty() || w < 1 || h < 1) {
        throw new IllegalArgumentException(index + " lists a slide without slide_id, mask_width"
            + " or mask_height (" + s + "): fix that entry");
      }
      sizes.put(s.path("slide_id").asText(), new int[] {w, h});
    }
    return new LesionMasks(fs.makeQualified(dir), downsample, sizes);
  }

  Path dir() {
    return dir;
  }

  boolean has(String slideId) {
    return sizes.containsKey(slideId);
  }

  /** The slide's mask, checked against the size {@code masks.json} gives. */
  Mask load(Configuration conf, String slideId) throws IOException {
    Path png = new Path(dir, slideId + ".png");
    FileSystem fs = png.getFileSystem(conf);
    if (!fs.exists(png)) {
      throw new IllegalArgumentException(png + " is missing but " + INDEX + " lists "
          + slideId + ": restore the mask or remove its entry");
    }
    BufferedImage img;
    try (var in = fs.open(png)) {
      img = ImageIO.read(in);
    }
    int[] size = sizes.get(slideId);
    if (img == null || img.getWidth() != size[0] || img.getHeight() != size[1]) {
      throw new IllegalArgumentException(png + (img == null ? " is not a readable PNG"
          : " is " + img.getWidth() + "x" + img.getHeight()) + " but " + INDEX + " says "
          + size[0] + "x" + size[1] + ": regenerate the masks");
    }
    Raster raster = img.getRaster();
    boolean[] lesion = new boolean[size[0] * size[1]];
    for (int y = 0; y < size[1]; y++) {
      for (int x = 0; x < size[0]; x++) {
        lesion[y * size[0] + x] = raster.getSample(x, y, 0) >= 128;
      }
    }
    return new Mask(size[0], size[1], downsample, lesion);
  }

  /**
   * One slide's mask.
   *
   * @param lesion row-major, {@code width * height}
   */
  record Mask(int width, int height, int downsample, boolean[] lesion) {

    /**
     * Whether the tile with level-0 top-left (x, y) and edge {@code size} level-0 pixels is a
     * lesion tile: at least half of the mask pixels whose centres lie inside it are lesion. A
     * tile smaller than a mask pixel takes the mask pixel under its centre. Mask pixels outside
     * the mask do not count; a tile with none is not a lesion tile.
     */
    boolean tileInLesion(long x, long y, double size) {
      int[] cols = span(x, size, width);
      int[] rows = span(y, size, height);
      long total = (long) (cols[1] - cols[0]) * (rows[1] - rows[0]);
      if (total <= 0) {
        return false;
      }
      long hits = 0;
      for (int my = rows[0]; my < rows[1]; my++) {
        for (int mx = cols[0]; mx < cols[1]; mx++) {
          hits += lesion[my * width + mx] ? 1 : 0;
        }
      }
      return 2 * hits >= total;
    }

    /** Mask indices [from, to) whose pixel centres lie in [start, start + size), clipped. */
    private int[] span(long start, double size, int extent) {
      int from = (int) Math.ceil(start / (double) downsample - 0.5);
      int to = (int) Math.ceil((start + size) / downsample - 0.5);
      if (from >= to) {
        from = (int) Math.floor((start + size / 2) / downsample);
        to = from + 1;
      }
      return new int[] {Math.max(0, from), Math.min(extent, to)};
    }
  }
}
