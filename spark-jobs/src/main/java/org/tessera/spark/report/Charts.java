package org.tessera.spark.report;

import com.fasterxml.jackson.databind.JsonNode;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Paint;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.annotations.XYTextAnnotation;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.SymbolAxis;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.LookupPaintScale;
import org.jfree.chart.renderer.xy.XYBlockRenderer;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.TextTitle;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.xy.DefaultXYZDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/** The report's line charts and the confusion grid, drawn by JFreeChart and saved as PNG. */
final class Charts {
  static final int WIDTH = 560;
  static final int HEIGHT = 420;
  static final Font TITLE = new Font(Font.SANS_SERIF, Font.BOLD, 15);

  private static final Color[] SERIES = {
    new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c), new Color(0x9467bd)};
  private static final BasicStroke SOLID = new BasicStroke(2f);
  private static final BasicStroke DASHED = new BasicStroke(2f, BasicStroke.CAP_BUTT,
      BasicStroke.JOIN_MITER, 10f, new float[] {7f, 5f}, 0f);
  private static final BasicStroke DOTTED = new BasicStroke(1f, BasicStroke.CAP_BUTT,
      BasicStroke.JOIN_MITER, 10f, new float[] {2f, 4f}, 0f);

  private Charts() {}

  /** A curve to draw: its legend name, points, and whether it is the split in focus (solid). */
  record Curve(String name, double[] x, double[] y, boolean solid) {}

  /** One marked point, such as the operating point of a decision threshold. */
  record Point(String name, double x, double y) {}

  /**
   * ROC or precision-recall curves over [0, 1]². {@code chance} adds the ROC diagonal; a PR
   * curve's chance line depends on the class balance, so it is left out there. {@code point},
   * when finite, is drawn as a marker with its own legend entry.
   */
  static void curves(Path file, String title, String xLabel, String yLabel, List<Curve> curves,
      Point point, boolean chance) throws IOException {
    XYSeriesCollection data = new XYSeriesCollection();
    for (Curve c : curves) {
      // Curves double back on ties and repeat points: keep them in the order given.
      XYSeries s = new XYSeries(c.name(), false, true);
      for (int i = 0; i < Math.min(c.x().length, c.y().length); i++) {
        if (Double.isFinite(c.x()[i]) && Double.isFinite(c.y()[i])) {
          s.add(c.x()[i], c.y()[i]);
        }
      }
      data.addSeries(s);
    }
    if (chance) {
      XYSeries d = new XYSeries("chance", false, true);
      d.add(0, 0);
      d.add(1, 1);
      data.addSeries(d);
    }
    boolean marked = point != null && Double.isFinite(point.x()) && Double.isFinite(point.y());
    if (marked) {
      XYSeries m = new XYSeries(point.name(), false, true);
      m.add(point.x(), point.y());
      data.addSeries(m);
    }
    JFreeChart chart = ChartFactory.createXYLineChart(title, xLabel, yLabel, data);
    XYPlot plot = style(chart);
    XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, false);
    for (int i = 0; i < curves.size(); i++) {
      r.setSeriesPaint(i, SERIES[i % SERIES.length]);
      r.setSeriesStroke(i, curves.get(i).solid() ? SOLID : DASHED);
    }
    if (chance) {
      r.setSeriesPaint(curves.size(), Color.GRAY);
      r.setSeriesStroke(curves.size(), DOTTED);
    }
    if (marked) {
      int i = data.getSeriesCount() - 1;
      r.setSeriesLinesVisible(i, false);
      r.setSeriesShapesVisible(i, true);
      r.setSeriesShape(i, new java.awt.geom.Ellipse2D.Double(-6, -6, 12, 12));
      r.setSeriesPaint(i, Color.BLACK);
    }
    plot.setRenderer(r);
    unitRange((NumberAxis) plot.getDomainAxis());
    unitRange((NumberAxis) plot.getRangeAxis());
    ChartUtils.saveChartAsPNG(file.toFile(), chart, WIDTH, HEIGHT);
  }

  /**
   * One value per epoch for several series (losses, AUCs) with the best epoch marked, so a
   * validation curve turning up while training keeps falling shows at a glance.
   */
  static void perEpoch(Path file, String title, String yLabel, List<Curve> series, int bestEpoch)
      throws IOException {
    perStep(file, title, "Epoch", yLabel, series, bestEpoch, "best epoch ");
  }

  /**
   * One value per integer step (epoch, EM round) for several series, with step {@code best}
   * marked and labelled {@code bestLabel + best} when it is > 0.
   */
  static void perStep(Path file, String title, String xLabel, String yLabel, List<Curve> series,
      int best, String bestLabel) throws IOException {
    XYSeriesCollection data = new XYSeriesCollection();
    for (Curve c : series) {
      XYSeries s = new XYSeries(c.name());
      for (int i = 0; i < c.x().length; i++) {
        if (Double.isFinite(c.y()[i])) {
          s.add(c.x()[i], c.y()[i]);
        }
      }
      data.addSeries(s);
    }
    JFreeChart chart = ChartFactory.createXYLineChart(title, xLabel, yLabel, data);
    XYPlot plot = style(chart);
    XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, true);
    for (int i = 0; i < series.size(); i++) {
      r.setSeriesPaint(i, SERIES[i % SERIES.length]);
      r.setSeriesStroke(i, series.get(i).solid() ? SOLID : DASHED);
      r.setSeriesShape(i, new java.awt.geom.Ellipse2D.Double(-2.5, -2.5, 5, 5));
    }
    plot.setRenderer(r);
    NumberAxis x = (NumberAxis) plot.getDomainAxis();
    x.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
    ((NumberAxis) plot.getRangeAxis()).setAutoRangeIncludesZero(false);
    if (best > 0) {
      ValueMarker m = new ValueMarker(best, Color.DARK_GRAY, DOTTED);
      m.setLabel(bestLabel + best);
      m.setLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
      m.setLabelBackgroundColor(new Color(255, 255, 255, 0));
      // The label goes on the side of the line with more room, so it is never cut off.
      double last = series.stream().mapToDouble(c -> c.x().length == 0 ? 0
          : c.x()[c.x().length - 1]).max().orElse(best);
      boolean left = best > (1 + last) / 2;
      m.setLabelAnchor(left ? RectangleAnchor.TOP_LEFT : RectangleAnchor.TOP_RIGHT);
      m.setLabelTextAnchor(left ? TextAnchor.TOP_RIGHT : TextAnchor.TOP_LEFT);
      plot.addDomainMarker(m);
    }
    ChartUtils.saveChartAsPNG(file.toFile(), chart, WIDTH, HEIGHT);
  }

  /**
   * The confusion matrix as a grid of counts (rows true, columns predicted), each cell shaded by
   * its share of its row so a small class's errors are as visible as a large one's.
   */
  static void confusion(Path file, String title, List<String> classes, JsonNode matrix)
      throws IOException {
    int k = classes.size();
    int cells = k * k;
    double[][] xyz = new double[3][cells];
    double[] share = new double[cells];
    for (int t = 0; t < k; t++) {
      double rowSum = 0;
      for (int p = 0; p < k; p++) {
        rowSum += Values.number(matrix.path(t).path(p));
      }
      for (int p = 0; p < k; p++) {
        int i = t * k + p;
        xyz[0][i] = p;
        xyz[1][i] = t;
        double n = Values.number(matrix.path(t).path(p));
        xyz[2][i] = n;
        share[i] = rowSum > 0 ? n / rowSum : 0;
      }
    }
    DefaultXYZDataset data = new DefaultXYZDataset();
    // The block colour follows the row share, carried as z; counts are written on the cells.
    data.addSeries("share", new double[][] {xyz[0], xyz[1], share});
    String[] names = classes.toArray(String[]::new);
    SymbolAxis predicted = new SymbolAxis("Predicted", names);
    SymbolAxis actual = new SymbolAxis("True", names);
    actual.setInverted(true);
    XYBlockRenderer r = new XYBlockRenderer();
    LookupPaintScale scale = new LookupPaintScale(0, 1.0001, Color.WHITE);
    for (int s = 0; s <= 20; s++) {
      double f = s / 20.0;
      scale.add(f, mix(new Color(0xf7fbff), new Color(0x08519c), f));
    }
    r.setPaintScale(scale);
    XYPlot plot = new XYPlot(data, predicted, actual, r);
    for (int i = 0; i < cells; i++) {
      XYTextAnnotation a = new XYTextAnnotation(String.valueOf((long) xyz[2][i]),
          xyz[0][i], xyz[1][i]);
      a.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 20));
      a.setPaint(share[i] > 0.55 ? Color.WHITE : Color.BLACK);
      plot.addAnnotation(a);
    }
    plot.setDomainGridlinesVisible(false);
    plot.setRangeGridlinesVisible(false);
    plot.setBackgroundPaint(Color.WHITE);
    JFreeChart chart = new JFreeChart(title, TITLE, plot, false);
    chart.setBackgroundPaint(Color.WHITE);
    chart.addSubtitle(new TextTitle("cell shade: share of the true class's slides"));
    int side = Math.max(360, 110 * k + 140);
    ChartUtils.saveChartAsPNG(file.toFile(), chart, side, side);
  }

  static XYPlot style(JFreeChart chart) {
    chart.setBackgroundPaint(Color.WHITE);
    chart.getTitle().setFont(TITLE);
    XYPlot plot = chart.getXYPlot();
    plot.setBackgroundPaint(Color.WHITE);
    plot.setDomainGridlinePaint(new Color(0xdddddd));
    plot.setRangeGridlinePaint(new Color(0xdddddd));
    plot.setOutlinePaint(Color.GRAY);
    return plot;
  }

  private static void unitRange(NumberAxis axis) {
    axis.setRange(-0.02, 1.02);
  }

  static Paint mix(Color a, Color b, double f) {
    return new Color(
        (int) Math.round(a.getRed() + (b.getRed() - a.getRed()) * f),
        (int) Math.round(a.getGreen() + (b.getGreen() - a.getGreen()) * f),
        (int) Math.round(a.getBlue() + (b.getBlue() - a.getBlue()) * f));
  }
}
