package org.tessera.spark.tile;

import java.io.Serializable;
import org.apache.hadoop.fs.Path;
import org.tessera.spark.io.RangeCommit;
import org.tessera.spark.io.SlideTable;
import org.tessera.spark.io.TileIndex;

/**
 * The folders of a tile run's output {@code OUT}: {@code tiles/} and {@code slides/} (Parquet),
 * {@code qc/} (one PNG per slide), {@code tile_params.json} (what produced them) and
 * {@code _work/} (pixel ranges not yet committed; hidden from Spark readers by its name).
 */
public record TileLayout(String root) implements Serializable {
  private static final long serialVersionUID = 1L;

  public Path tiles() {
    return new Path(root, TileIndex.DIR);
  }

  public Path slides() {
    return new Path(root, SlideTable.DIR);
  }

  public Path qcPath(String slideId) {
    return new Path(new Path(root, "qc"), slideId + ".png");
  }

  public Path params() {
    return new Path(root, "tile_params.json");
  }

  /** The planned tiles of a slide whose pixels are stored in ranges, beside those ranges. */
  public Path planFile(String slideId, String key) {
    return new Path(RangeCommit.workDir(new Path(root), slideId, key), "plan.parquet");
  }
}
