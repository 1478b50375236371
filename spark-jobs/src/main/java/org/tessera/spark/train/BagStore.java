package org.tessera.spark.train;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.spark.Partitioner;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.storage.StorageLevel;
import org.tessera.core.data.Bag;
import org.tessera.spark.io.FeatureTable;
import scala.Tuple2;

/**
 * The feature bags of a run, read once from {@code FEAT/features} and cached on the executors,
 * spread over {@code workers} partitions so the partitions hold about the same number of
 * instances (largest bags first, each to the lightest partition). Every step then only reads
 * the cached bags. Within a bag, instances are ordered by (y, x), whatever order the files had.
 */
final class BagStore implements AutoCloseable {

  private final JavaRDD<Bag> bags;
  private final int dim;

  private BagStore(JavaRDD<Bag> bags, int dim) {
    this.bags = bags;
    this.dim = dim;
  }

  JavaRDD<Bag> bags() {
    return bags;
  }

  int dim() {
    return dim;
  }

  /**
   * @param tileCounts instances per slide (from the slide table), to balance the partitions
   */
  static BagStore load(SparkSession spark, String featuresDir, Map<String, Long> tileCounts,
      int workers) {
    List<String> order = new ArrayList<>(tileCounts.keySet());
    order.sort(Comparator.comparing((String id) -> -tileCounts.get(id))
        .thenComparing(Comparator.naturalOrder()));
    long[] load = new long[workers];
    Map<String, Integer> partitionOf = new HashMap<>();
    for (String id : order) {
      int lightest = 0;
      for (int p = 1; p < workers; p++) {
        if (load[p] < load[lightest]) {
          lightest = p;
        }
      }
      partitionOf.put(id, lightest);
      load[lightest] += tileCounts.get(id);
    }
    Set<String> wanted = Set.copyOf(tileCounts.keySet());
    JavaRDD<Bag> bags = spark.read().parquet(featuresDir)
        .filter(functions.col("slide_id").isin(wanted.toArray()))
        .select("slide_id", "x", "y", "features")
        .javaRDD()
        .mapToPair(r -> new Tuple2<>(r.getString(0), Instance.of(r)))
        .partitionBy(new SlidePartitioner(partitionOf, workers))
        .mapPartitions(BagStore::assemble)
        .persist(StorageLevel.MEMORY_AND_DISK());
    bags.setName("tessera feature bags");
    // Every step ships the RDD's lineage with its tasks; from the Parquet scan that is megabytes
    // per step. Cutting it to the cached blocks keeps a step's tasks small. The price: a lost
    // executor's bags cannot be recomputed, so the run fails and resumes from its checkpoint.
    bags.rdd().localCheckpoint();
    // Materialises the cache as well as checking it.
    long count = bags.count();
    if (count != wanted.size()) {
      bags.unpersist();
      throw new IllegalStateException(featuresDir + " holds rows for " + count + " of the "
          + wanted.size() + " slides its slide table lists as ok: re-run embed on it");
    }
    // One example slide per feature size: more than one size means mixed encoders.
    Map<Integer, String> dims = new TreeMap<>(bags
        .mapToPair(b -> new Tuple2<>(b.dim(), b.slideId()))
        .reduceByKey((p, q) -> p.compareTo(q) <= 0 ? p : q)
        .collectAsMap());
    if (dims.size() != 1) {
      bags.unpersist();
      throw new IllegalArgumentException(featuresDir + " mixes feature sizes (size=example "
          + "slide: " + dims + "): features from different encoders cannot train one head; "
          + "re-embed or import them into separate folders");
    }
    return new BagStore(bags, dims.keySet().iterator().next());
  }

  @Override
  public void close() {
    bags.unpersist();
  }

  /** One feature row, compact for the shuffle. */
  record Instance(long x, long y, float[] features) implements Serializable {
    static Instance of(Row r) {
      return new Instance(r.getLong(1), r.getLong(2), FeatureTable.features(r));
    }
  }

  private static java.util.Iterator<Bag> assemble(
      java.util.Iterator<Tuple2<String, Instance>> rows) {
    Map<String, List<Instance>> bySlide = new HashMap<>();
    while (rows.hasNext()) {
      Tuple2<String, Instance> t = rows.next();
      bySlide.computeIfAbsent(t._1(), k -> new ArrayList<>()).add(t._2());
    }
    List<Bag> out = new ArrayList<>();
    for (Map.Entry<String, List<Instance>> e : new TreeMap<>(bySlide).entrySet()) {
      out.add(toBag(e.getKey(), e.getValue()));
      e.getValue().clear();
    }
    return out.iterator();
  }

  static Bag toBag(String slide, List<Instance> rows) {
    rows.sort(Comparator.comparingLong(Instance::y).thenComparingLong(Instance::x));
    int n = rows.size();
    int dim = rows.get(0).features().length;
    float[] f = new float[n * dim];
    int[] x = new int[n];
    int[] y = new int[n];
    for (int i = 0; i < n; i++) {
      Instance r = rows.get(i);
      if (r.features().length != dim) {
        throw new IllegalArgumentException("slide " + slide + ": tiles with " + dim + " and "
            + r.features().length + " features; re-embed it");
      }
      for (int j = 0; j < dim; j++) {
        float v = r.features()[j];
        if (!Float.isFinite(v)) {
          throw new IllegalArgumentException("slide " + slide + ": feature " + j + " of tile ("
              + r.x() + ", " + r.y() + ") is " + v + "; re-embed or re-import it");
        }
        f[i * dim + j] = v;
      }
      x[i] = Math.toIntExact(r.x());
      y[i] = Math.toIntExact(r.y());
    }
    return new Bag(slide, n, dim, f, x, y);
  }

  /** Sends each slide's rows to the partition the balancing chose for it. */
  static final class SlidePartitioner extends Partitioner {
    private final Map<String, Integer> partitionOf;
    private final int partitions;

    SlidePartitioner(Map<String, Integer> partitionOf, int partitions) {
      this.partitionOf = new HashMap<>(partitionOf);
      this.partitions = partitions;
    }

    @Override
    public int numPartitions() {
      return partitions;
    }

    @Override
    public int getPartition(Object key) {
      return partitionOf.get((String) key);
    }
  }
}
