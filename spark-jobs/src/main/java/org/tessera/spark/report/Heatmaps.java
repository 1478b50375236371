package org.tessera.spark.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Path2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;
import javax.imageio.ImageIO;
import org.apache.hadoop.conf.Configuration;
import org.jfree.chart.ChartRenderingInfo;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.annotations.XYBoxAnnotation;
import org.jfree.chart.annotations.XYShapeAnnotation;
import org.jfree.chart.annotations.XYTextAnnotation;
import org.jfree.chart.axis.AxisLocation;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.LookupPaintScale;
import org.jfree.chart.renderer.xy.XYBlockRenderer;
import org.jfree.chart.title.PaintScaleLegend;
import org.jfree.chart.ui.Align;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.chart.ui.RectangleInsets;
import org.jfree.data.xy.DefaultXYZDataset;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.tessera.core.Errors;
import org.tessera.spark.io.SlideTable;
import org.tessera.spark.tile.LocalSlides;
import org.tessera.wsi.LevelInfo;
import org.tessera.wsi.SlideMetadata;
import org.tessera.wsi.ReaderKind;
import org.tessera.wsi.SlideReader;
import org.tessera.wsi.SlideReaders;
import org.tessera.wsi.region.RegionRequest;

/**
 * Attention over a slide: the slide's thumbnail as the plot background, one translucent block
 * per tile in level-0 coordinates on the same axes (so the overlay lines up with the tissue by
 * construction), a colour bar, and the most attended tiles cut from the slide.
 */
final class Heatmaps {
  /** Longest side of a thumbnail, in pixels. */
  static final int THUMB = 720;
  static final int TILE_PX = 192;
  /** Rows of a pyramid level read at once, so a slide without a small level still fits. */
  private static final int BAND_ROWS = 512;

  /**
   * Viridis at five stops: ordered in lightness, so it reads in grey and for most colour-blind
   * readers.
   */
  private static final Color[] VIRIDIS = {
    new Color(0x440154), new Color(0x3b528b), new Color(0x21918c), new Color(0x5ec962),
    new Color(0xfde725)};

  private Heatmaps() {}

  /** Where a slide is and the grid its tiles were cut on, from the tile index's slide table. */
  record SlideInfo(String slideId, String path, int tileLevel, int sizeAtLevel) {}

  /** A slide's tiles (level-0 origins) and the attention map drawn for it. */
  record Attention(String map, long[] x, long[] y, float[] value) {}

  /** A cut tile: its PNG, origin, raw attention and percentile within the slide. */
  record TileImage(String file, long x, long y, float attention, double percentile) {}

  record Drawn(String heatmap, List<TileImage> tiles) {}

  /**
   * A lesion mask to outline over a heatmap: mask pixel (i, j) covers level-0 pixels
   * [i d, (i + 1) d) x [j d, (j + 1) d) with d the downsample.
   */
  record Outline(boolean[] lesion, int width, int height, double downsample) {
    Outline {
      if (lesion.length != (long) width * height) {
        throw new IllegalArgumentException("mask of " + lesion.length + " pixels is not "
            + width + " x " + height);
      }
    }

    /**
     * A mask image (lesion where the first band's stored value is above half; read from the
     * raster, as a grey image's {@code getRGB} would first gamma-correct it) at the downsample.
     */
    static Outline of(BufferedImage mask, double downsample) {
      int w = mask.getWidth();
      int h = mask.getHeight();
      int half = (1 << mask.getSampleModel().getSampleSize(0)) / 2;
      boolean[] lesion = new boolean[w * h];
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          lesion[y * w + x] = mask.getRaster().getSample(x, y, 0) >= half;
        }
      }
      return new Outline(lesion, w, h, downsample);
    }

    private boolean at(int x, int y) {
      return x >= 0 && y >= 0 && x < width && y < height && lesion[y * width + x];
    }

    /** The lesions' borders in level-0 coordinates: every mask-pixel edge between lesion and not. */
    Path2D border() {
      Path2D.Double path = new Path2D.Double();
      double d = downsample;
      for (int y = 0; y < height; y++) {
        for (int x = 0; x < width; x++) {
          if (!at(x, y)) {
            continue;
          }
          if (!at(x, y - 1)) {
            path.moveTo(x * d, y * d);
            path.lineTo((x + 1) * d, y * d);
          }
          if (!at(x, y + 1)) {
            path.moveTo(x * d, (y + 1) * d);
            path.lineTo((x + 1) * d, (y + 1) * d);
          }
          if (!at(x - 1, y)) {
            path.moveTo(x * d, y * d);
            path.lineTo(x * d, (y + 1) * d);
          }
          if (!at(x + 1, y)) {
            path.moveTo((x + 1) * d, y * d);
            path.lineTo((x + 1) * d, (y + 1) * d);
          }
        }
      }
      return path;
    }
  }

  /** Colour of the lesion outlines: magenta stands apart from every viridis shade. */
  static final Color OUTLINE = new Color(255, 0, 200);

  /**
   * Draws the heatmap into {@code figures/<prefix>-heatmap.png} and the top tiles into
   * {@code figures/<prefix>-tile-<k>.png}; returns the names relative to {@code figures}.
   * Throws when the slide cannot be read; the caller turns that into a placeholder.
   */
  static Drawn draw(Configuration conf, String cacheDir, ReaderKind readerKind,
      SlideInfo slide, Attention att,
      String title, Path figures, String prefix, int topTiles) throws IOException {
    return draw(conf, cacheDir, readerKind, slide, att, title, figures, prefix, topTiles, null);
  }

  /** As above, with the lesions of {@code outline} (null: none) drawn over the heatmap. */
  static Drawn draw(Configuration conf, String cacheDir, ReaderKind readerKind, SlideInfo slide,
      Attention att, String title, Path figures, String prefix, int topTiles, Outline outline)
      throws IOException {
    try (SlideReader reader = SlideReaders.open(
        LocalSlides.localize(conf, slide.path(), cacheDir), readerKind)) {
      SlideMetadata md = reader.metadata();
      double extent = slide.sizeAtLevel() * md.level(slide.tileLevel()).downsample();
      BufferedImage thumb = thumbnail(reader, md);
      double[] pct = percentiles(att.value());
      Integer[] top = IntStream.range(0, att.value().length).boxed()
          .sorted(Comparator.comparingDouble((Integer i) -> -att.value()[i]))
          .limit(topTiles).toArray(Integer[]::new);

      JFreeChart chart = chart(md, att, pct, extent, top, thumb, title, outline);
      String heatmap = prefix + "-heatmap.png";
      Dimension size = fitted(chart, thumb.getWidth(), thumb.getHeight());
      ChartUtils.saveChartAsPNG(figures.resolve(heatmap).toFile(), chart, size.w, size.h);

      List<TileImage> tiles = new ArrayList<>();
      for (int k = 0; k < top.length; k++) {
        int i = top[k];
        BufferedImage tile = reader.readRgb(RegionRequest.of(att.x()[i], att.y()[i],
            slide.tileLevel(), slide.sizeAtLevel(), slide.sizeAtLevel()), 0xffffff);
        String name = prefix + "-tile-" + (k + 1) + ".png";
        ImageIO.write(scaled(tile, TILE_PX, TILE_PX), "png", figures.resolve(name).toFile());
        tiles.add(new TileImage(name, att.x()[i], att.y()[i], att.value()[i], pct[i]));
      }
      return new Drawn(heatmap, tiles);
    }
  }

  /**
   * The slides' attention from a run's {@code attention.parquet}. A model with several maps (one
   * per class or branch) is shown by the map of the class {@code predicted} names for the slide
   * when there is one, else by its first map.
   */
  static Map<String, Attention> attention(SparkSession spark,
      org.apache.hadoop.fs.Path file, List<String> ids, Map<String, String> predicted) {
    Map<String, Attention> out = new HashMap<>();
    Dataset<Row> frame = spark.read().parquet(file.toString())
        .where(functions.col("slide_id").isin(ids.toArray()));
    List<String> maps = new ArrayList<>();
    for (StructField f : frame.schema().fields()) {
      if (f.dataType().equals(DataTypes.FloatType) || f.dataType().equals(DataTypes.DoubleType)) {
        maps.add(f.name());
      }
    }
    if (maps.isEmpty()) {
      return out;
    }
    Map<String, List<Row>> bySlide = new HashMap<>();
    for (Row r : frame.collectAsList()) {
      bySlide.computeIfAbsent(r.getAs("slide_id"), k -> new ArrayList<>()).add(r);
    }
    for (Map.Entry<String, List<Row>> e : bySlide.entrySet()) {
      String wanted = predicted.getOrDefault(e.getKey(), "").replaceAll("[^A-Za-z0-9_]", "_");
      String map = maps.contains("attention") ? "attention"
          : maps.contains(wanted) ? wanted : maps.get(0);
      List<Row> rows = e.getValue();
      long[] x = new long[rows.size()];
      long[] y = new long[rows.size()];
      float[] a = new float[rows.size()];
      for (int i = 0; i < rows.size(); i++) {
        Row r = rows.get(i);
        x[i] = r.<Long>getAs("x");
        y[i] = r.<Long>getAs("y");
        a[i] = ((Number) r.getAs(map)).floatValue();
      }
      out.put(e.getKey(), new Attention(map, x, y, a));
    }
    return out;
  }

  /**
   * Fills {@code out} with the slides' paths and tile grids from the tile index at
   * {@code tiles}; returns why it could not be read, or null.
   */
  static String slideInfos(SparkSession spark, Configuration conf, String tiles,
      List<String> ids, Map<String, SlideInfo> out) {
    if (tiles.isEmpty()) {
      return "the features' manifest names no tile index (imported features)";
    }
    org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(tiles, SlideTable.DIR);
    try {
      if (!dir.getFileSystem(conf).exists(dir)) {
        return dir + " does not exist (the tile index was moved or deleted)";
      }
      for (Row r : spark.read().parquet(dir.toString())
          .where(functions.col("slide_id").isin(ids.toArray()))
          .select("slide_id", "path", "tile_level", "size_at_level").collectAsList()) {
        if (!r.isNullAt(2) && !r.isNullAt(3)) {
          out.put(r.getString(0), new SlideInfo(r.getString(0), r.getString(1), r.getInt(2),
              r.getInt(3)));
        }
      }
      return null;
    } catch (IOException | RuntimeException e) {
      return "cannot read " + dir + ": " + Errors.oneLine(e);
    }
  }

  private record Dimension(int w, int h) {}

  private static JFreeChart chart(SlideMetadata md, Attention att, double[] pct, double extent,
      Integer[] top, BufferedImage thumb, String title, Outline outline) {
    int n = att.value().length;
    double[][] xyz = new double[3][n];
    for (int i = 0; i < n; i++) {
      xyz[0][i] = att.x()[i] + extent / 2;
      xyz[1][i] = att.y()[i] + extent / 2;
      xyz[2][i] = pct[i];
    }
    DefaultXYZDataset data = new DefaultXYZDataset();
    data.addSeries(att.map(), xyz);
    XYBlockRenderer r = new XYBlockRenderer();
    r.setBlockWidth(extent);
    r.setBlockHeight(extent);
    // Translucent so the tissue under a block stays visible; the legend uses opaque colours.
    r.setPaintScale(scale(150));

    NumberAxis x = new NumberAxis("x (level-0 pixels)");
    x.setRange(0, md.width());
    NumberAxis y = new NumberAxis("y (level-0 pixels)");
    y.setRange(0, md.height());
    y.setInverted(true);
    XYPlot plot = new XYPlot(data, x, y, r);
    plot.setBackgroundImage(thumb);
    plot.setBackgroundImageAlignment(Align.FIT);
    plot.setBackgroundImageAlpha(1f);
    plot.setBackgroundPaint(Color.WHITE);
    plot.setDomainGridlinesVisible(false);
    plot.setRangeGridlinesVisible(false);
    plot.setAxisOffset(RectangleInsets.ZERO_INSETS);
    if (outline != null) {
      plot.addAnnotation(new XYShapeAnnotation(outline.border(), new BasicStroke(2.5f),
          OUTLINE));
    }
    for (int k = 0; k < top.length; k++) {
      int i = top[k];
      plot.addAnnotation(new XYBoxAnnotation(att.x()[i], att.y()[i], att.x()[i] + extent,
          att.y()[i] + extent, new BasicStroke(2f), Color.RED));
      XYTextAnnotation label = new XYTextAnnotation(String.valueOf(k + 1),
          att.x()[i] + extent / 2, att.y()[i] + extent / 2);
      label.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
      label.setPaint(Color.RED);
      plot.addAnnotation(label);
    }

    JFreeChart chart = new JFreeChart(title, Charts.TITLE, plot, false);
    chart.setBackgroundPaint(Color.WHITE);
    NumberAxis barAxis = new NumberAxis("attention (percentile within slide)");
    barAxis.setRange(0, 1);
    PaintScaleLegend bar = new PaintScaleLegend(scale(255), barAxis);
    bar.setPosition(RectangleEdge.RIGHT);
    bar.setAxisLocation(AxisLocation.BOTTOM_OR_RIGHT);
    bar.setStripWidth(14);
    bar.setSubdivisionCount(100);
    bar.setMargin(new RectangleInsets(10, 12, 10, 6));
    bar.setBackgroundPaint(Color.WHITE);
    chart.addSubtitle(bar);
    return chart;
  }

  /**
   * A chart size whose plot area has the thumbnail's shape: drawn once to measure what the
   * title, axes and colour bar take, then sized so what is left is exactly the thumbnail.
   */
  private static Dimension fitted(JFreeChart chart, int w, int h) {
    int guessW = w + 200;
    int guessH = h + 120;
    ChartRenderingInfo info = new ChartRenderingInfo();
    chart.createBufferedImage(guessW, guessH, info);
    Rectangle2D area = info.getPlotInfo().getDataArea();
    return new Dimension((int) Math.round(w + guessW - area.getWidth()),
        (int) Math.round(h + guessH - area.getHeight()));
  }

  private static LookupPaintScale scale(int alpha) {
    LookupPaintScale s = new LookupPaintScale(0, 1.0001, new Color(0, 0, 0, 0));
    int steps = 64;
    for (int k = 0; k < steps; k++) {
      double f = k / (double) (steps - 1);
      double pos = f * (VIRIDIS.length - 1);
      int j = Math.min((int) pos, VIRIDIS.length - 2);
      Color c = (Color) Charts.mix(VIRIDIS[j], VIRIDIS[j + 1], pos - j);
      s.add(k / (double) steps, new Color(c.getRed(), c.getGreen(), c.getBlue(), alpha));
    }
    return s;
  }

  /**
   * Percentile ranks within the slide (0 lowest, 1 highest): attention sums to one over a bag,
   * so raw values shrink with slide size and would paint every large slide dark.
   */
  static double[] percentiles(float[] v) {
    Integer[] order = IntStream.range(0, v.length).boxed()
        .sorted(Comparator.comparingDouble((Integer i) -> v[i])).toArray(Integer[]::new);
    double[] p = new double[v.length];
    for (int r = 0; r < order.length; r++) {
      p[order[r]] = order.length == 1 ? 1 : r / (double) (order.length - 1);
    }
    return p;
  }

  /**
   * The slide at {@link #THUMB} pixels on its longest side, read from the smallest pyramid level
   * that is still at least that large, a band of rows at a time.
   */
  private static BufferedImage thumbnail(SlideReader reader, SlideMetadata md)
      throws IOException {
    double scale = Math.min(1.0, THUMB / (double) Math.max(md.width(), md.height()));
    int tw = Math.max(1, (int) Math.round(md.width() * scale));
    int th = Math.max(1, (int) Math.round(md.height() * scale));
    LevelInfo level = md.level(0);
    for (LevelInfo l : md.levels()) {
      if (l.width() >= tw && l.height() >= th && l.width() < level.width()) {
        level = l;
      }
    }
    BufferedImage out = new BufferedImage(tw, th, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = out.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_INTERPOLATION,
        RenderingHints.VALUE_INTERPOLATION_BILINEAR);
    int lw = (int) level.width();
    int lh = (int) level.height();
    for (int top = 0; top < lh; top += BAND_ROWS) {
      int rows = Math.min(BAND_ROWS, lh - top);
      BufferedImage band = reader.readRgb(RegionRequest.of(0,
          Math.round(top * level.downsample()), level.index(), lw, rows), 0xffffff);
      int y0 = (int) Math.round(top * (double) th / lh);
      int y1 = (int) Math.round((top + rows) * (double) th / lh);
      g.drawImage(band, 0, y0, tw, Math.max(y1, y0 + 1), null);
    }
    g.dispose();
    return out;
  }

  static BufferedImage scaled(BufferedImage src, int w, int h) {
    BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = out.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_INTERPOLATION,
        RenderingHints.VALUE_INTERPOLATION_BICUBIC);
    g.drawImage(src, 0, 0, w, h, null);
    g.dispose();
    return out;
  }
}
