package org.tessera.wsi.tiling;

import java.awt.image.BufferedImage;
import org.tessera.wsi.SlideMetadata;
import org.tessera.wsi.region.TileGrid;
import org.tessera.wsi.region.TileRequest;
import org.tessera.wsi.tissue.TissueMask;

/**
 * The tiles one slide yields, in grid order (row-major), with what was seen to choose them.
 *
 * @param metadata       slide metadata, with the assumed MPP applied when the slide had none
 * @param mppAssumed     true when the MPP came from {@code --assume-mpp} rather than the file
 * @param grid           the full grid at the target resolution
 * @param mask           tissue mask on the segmentation image
 * @param thumbnail      the segmentation image (RGB over white), for QC
 * @param cols           grid column of each kept tile
 * @param rows           grid row of each kept tile
 * @param tissueFraction tissue fraction of each kept tile
 */
public record SlidePlan(
    SlideMetadata metadata,
    boolean mppAssumed,
    TileGrid grid,
    TissueMask mask,
    BufferedImage thumbnail,
    int[] cols,
    int[] rows,
    double[] tissueFraction) {

  public int tileCount() {
    return cols.length;
  }

  public TileRequest tile(int i) {
    return grid.tile(cols[i], rows[i]);
  }
}
