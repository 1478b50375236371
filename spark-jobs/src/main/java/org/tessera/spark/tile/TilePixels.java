package org.tessera.spark.tile;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import javax.imageio.ImageIO;
import org.apache.parquet.example.data.Group;
import org.tessera.core.image.PackedRgb;
import org.tessera.wsi.region.TileRequest;

/** The pixels of one tile index row, for every stage that looks at tiles after tiling. */
public final class TilePixels {
  private TilePixels() {}

  /** A tile's RGB pixels: decoded from the tile index when stored there, else read from the slide. */
  public static int[] read(Group t, LocalSlides.Lease lease) throws IOException {
    int edge = t.getInteger("tile_size", 0);
    if (t.getFieldRepetitionCount("pixels") > 0) {
      byte[] bytes = t.getBinary("pixels", 0).getBytes();
      String format = t.getString("pixel_format", 0);
      if ("raw".equals(format)) {
        return PackedRgb.fromRgbBytes(bytes);
      }
      var img = ImageIO.read(new ByteArrayInputStream(bytes));
      if (img == null) {
        throw new IOException("stored " + format + " pixels of tile (" + t.getInteger("col", 0)
            + "," + t.getInteger("row", 0) + ") cannot be decoded");
      }
      return img.getRGB(0, 0, img.getWidth(), img.getHeight(), null, 0, img.getWidth());
    }
    return lease.reader().readTilePixels(TileRequest.of(t.getInteger("level", 0),
        t.getLong("x", 0), t.getLong("y", 0), t.getInteger("size_at_level", 0), edge));
  }
}
