import java.nio.file.Path;
import org.tessera.wsi.*;
import org.tessera.wsi.region.TileRequest;
import org.tessera.wsi.tiff.*;
/**
 * Per-tile read cost on one slide, one thread: OpenSlide's tile, the direct reader's aligned and
 * unaligned tiles, the libjpeg-turbo decode floor (stored bytes read, tables merged, decoded) and
 * the compressed passthrough (stored bytes made self-contained, nothing decoded).
 * Usage: java ReadFloor SLIDE TILES (see bench/reader/run).
 */
public class ReadFloor {
  public static void main(String[] a) throws Exception {
    Path p = Path.of(a[0]);
    int n = Integer.parseInt(a[1]);
    try (SlideReader os = SlideReaders.open(p, ReaderKind.OPENSLIDE);
         DirectTiffReader d = DirectTiffReader.open(p)) {
      long w = os.metadata().width(), h = os.metadata().height();
      int across = (int) (w / 256), down = (int) (h / 256);
      for (int pass = 0; pass < 2; pass++) {
        long t0 = System.nanoTime(); long sum = 0;
        for (int i = 0; i < n; i++) { int c = i % across, r = (i / across) % down;
          sum += os.readTilePixels(TileRequest.of(0, c * 256L, r * 256L, 256, 256))[7]; }
        long t1 = System.nanoTime();
        for (int i = 0; i < n; i++) { int c = i % across, r = (i / across) % down;
          sum += d.readTilePixels(TileRequest.of(0, c * 256L, r * 256L, 256, 256))[7]; }
        long t2 = System.nanoTime();
        for (int i = 0; i < n; i++) { int c = i % across, r = (i / across) % down;
          byte[] j = d.compressedTile(0, c, r); sum += TurboJpeg.forThread().decodeArgb(j, j.length, 256, 256)[7]; }
        long t3 = System.nanoTime();
        for (int i = 0; i < n; i++) { int c = i % across, r = (i / across) % down;
          sum += d.compressedTile(0, c, r).length; }
        long t4 = System.nanoTime();
        for (int i = 0; i < n; i++) { int c = i % across, r = (i / across) % down;
          sum += d.readTilePixels(TileRequest.of(0, c * 256L + 100, r * 256L + 37, 256, 256))[7]; }
        long t5 = System.nanoTime();
        System.out.printf("pass %d, %d tiles: openslide %.3f ms/tile, direct aligned %.3f, decode floor (read+merge+tjDecompress2) %.3f, passthrough bytes %.4f, direct unaligned %.3f (%d)%n",
          pass, n, (t1-t0)/1e6/n, (t2-t1)/1e6/n, (t3-t2)/1e6/n, (t4-t3)/1e6/n, (t5-t4)/1e6/n, sum & 1);
      }
    }
  }
}
