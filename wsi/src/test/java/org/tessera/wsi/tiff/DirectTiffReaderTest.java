package org.tessera.wsi.tiff;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.tessera.wsi.LevelInfo;
import org.tessera.wsi.ReaderKind;
import org.tessera.wsi.SlideReader;
import org.tessera.wsi.SlideReaders;
import org.tessera.wsi.openslide.OpenSlideReader;
import org.tessera.wsi.region.RegionRequest;
import org.tessera.wsi.region.TileRequest;
import org.tessera.wsi.synth.TiffDescription;

/**
 * The direct reader against OpenSlide on the same files: metadata, and pixels byte for byte for
 * aligned, unaligned, past-the-edge and non-zero-level reads, in every layout it reads itself.
 */
class DirectTiffReaderTest {

  static Stream<Arguments> layouts() throws IOException {
    Path aperio = DirectSlides.dir().resolve("aperio.svs");
    if (!Files.exists(aperio)) {
      Files.copy(DirectSlides.save("generic-q85-256.tif", "--tile", "--tile-width", "256",
          "--tile-height", "256", "--pyramid", "--compression", "jpeg", "--Q", "85"), aperio);
      TiffDescription.set(aperio, "Aperio Image Library v10.0.51\n" + DirectSlides.WIDTH + "x"
          + DirectSlides.HEIGHT + " [0,0 " + DirectSlides.WIDTH + "x" + DirectSlides.HEIGHT
          + "] (256x256) JPEG/RGB Q=85|AppMag = 40|MPP = 0.2500");
    }
    return Stream.of(
        Arguments.of("generic, JPEG Q85, 256 px tiles", DirectSlides.save("generic-q85-256.tif",
            "--tile", "--tile-width", "256", "--tile-height", "256", "--pyramid",
            "--compression", "jpeg", "--Q", "85")),
        Arguments.of("generic, JPEG Q60, 240 px tiles", DirectSlides.save("generic-q60-240.tif",
            "--tile", "--tile-width", "240", "--tile-height", "240", "--pyramid",
            "--compression", "jpeg", "--Q", "60")),
        Arguments.of("BigTIFF, JPEG Q80, 256 px tiles", DirectSlides.save("big-q80-256.tif",
            "--tile", "--tile-width", "256", "--tile-height", "256", "--pyramid",
            "--compression", "jpeg", "--Q", "80", "--bigtiff")),
        Arguments.of("generic, JPEG Q75, 512 px tiles", DirectSlides.save("generic-q75-512.tif",
            "--tile", "--tile-width", "512", "--tile-height", "512", "--pyramid",
            "--compression", "jpeg", "--Q", "75")),
        Arguments.of("Aperio, JPEG Q85, 256 px tiles", aperio));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("layouts")
  void metadataEqualsOpenSlides(String layout, Path slide) throws IOException {
    assertEquals(List.of(), SlideReaders.directReaderRefusal(slide).stream().toList(), layout);
    try (OpenSlideReader os = OpenSlideReader.open(slide);
        SlideReader direct = SlideReaders.open(slide, ReaderKind.AUTO)) {
      assertInstanceOf(DirectTiffReader.class, direct, layout);
      var a = os.metadata();
      var b = direct.metadata();
      assertEquals(a.vendor(), b.vendor());
      assertEquals(a.levels(), b.levels());
      assertEquals(a.mppX(), b.mppX());
      assertEquals(a.mppY(), b.mppY());
      assertEquals(a.objectivePower(), b.objectivePower());
      assertEquals(a.associatedImages(), b.associatedImages());
      b.properties().forEach((k, v) -> assertEquals(a.properties().get(k), v, layout + ": " + k));
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("layouts")
  void pixelsEqualOpenSlides(String layout, Path slide) throws IOException {
    try (OpenSlideReader os = OpenSlideReader.open(slide);
        DirectTiffReader direct = DirectTiffReader.open(slide)) {
      List<long[]> reads = new ArrayList<>(); // x, y, level, w, h, whether read directly
      int tile = Integer.parseInt(os.metadata().properties().get("openslide.level[0].tile-width"));
      // Aligned: whole stored tiles at level 0, the last column and row partial.
      long across = (DirectSlides.WIDTH + tile - 1) / tile;
      long down = (DirectSlides.HEIGHT + tile - 1) / tile;
      for (long[] t : new long[][] {{0, 0}, {1, 2}, {across - 1, 0}, {0, down - 1},
          {across - 1, down - 1}}) {
        reads.add(new long[] {t[0] * tile, t[1] * tile, 0, tile, tile, 1});
      }
      Random random = new Random(7);
      for (int i = 0; i < 12; i++) { // unaligned at level 0, spanning several stored tiles
        int w = 1 + random.nextInt(700);
        int h = 1 + random.nextInt(500);
        reads.add(new long[] {random.nextInt(DirectSlides.WIDTH - 50),
            random.nextInt(DirectSlides.HEIGHT - 50), 0, w, h, 1});
      }
      // Past the right and bottom edges, and wholly outside.
      reads.add(new long[] {DirectSlides.WIDTH - 100, DirectSlides.HEIGHT - 77, 0, 256, 256, 1});
      reads.add(new long[] {DirectSlides.WIDTH + 10, 5, 0, 64, 64, 1});
      for (LevelInfo l : os.metadata().levels()) { // every level, at whole pixels of that level
        if (l.index() == 0) {
          continue;
        }
        double ds = l.downsample();
        boolean exact = ds == Math.rint(ds);
        long step = exact ? (long) ds : 1;
        reads.add(new long[] {0, 0, l.index(), (int) Math.min(300, l.width() + 9),
            (int) Math.min(200, l.height() + 5), 1});
        // Whole pixels of the level when its downsample is exact; else OpenSlide interpolates.
        reads.add(new long[] {37 * step, 11 * step, l.index(), 256, 256, exact ? 1 : 0});
        reads.add(new long[] {tile * step, tile * step, l.index(), tile, tile, exact ? 1 : 0});
        // A position between two pixels of the level (OpenSlide interpolates).
        reads.add(new long[] {101, 3, l.index(), 80, 60, 0});
      }
      reads.add(new long[] {-30, -20, 0, 100, 90, 0}); // left of and above the slide
      for (long[] r : reads) {
        String what = layout + ": " + r[3] + "x" + r[4] + " at " + r[0] + "," + r[1]
            + " level " + r[2];
        assertEquals(r[5] == 1, direct.readsDirectly(r[0], r[1], (int) r[2]), what);
        assertArrayEquals(os.readArgb(r[0], r[1], (int) r[2], (int) r[3], (int) r[4]),
            direct.readArgb(r[0], r[1], (int) r[2], (int) r[3], (int) r[4]), what);
        RegionRequest region = new RegionRequest(r[0], r[1], (int) r[2], (int) r[3], (int) r[4]);
        assertArrayEquals(os.readRgbPixels(region, 0xffffff),
            direct.readRgbPixels(region, 0xffffff), what + " over white");
      }
      // Resampled tiles (no level at the target resolution): the same resize of the same pixels.
      TileRequest resampled = TileRequest.of(0, 517, 389, 300, 224);
      assertArrayEquals(os.readTilePixels(resampled), direct.readTilePixels(resampled), layout);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("layouts")
  void compressedTileIsTheStoredStreamMadeSelfContained(String layout, Path slide)
      throws IOException {
    try (DirectTiffReader direct = DirectTiffReader.open(slide)) {
      int tile = Integer.parseInt(direct.metadata().properties()
          .get("openslide.level[0].tile-width"));
      byte[] jpeg = direct.compressedTile(0, 1, 1);
      int[] decoded = TurboJpeg.forThread().decodeArgb(jpeg, jpeg.length, tile, tile);
      assertArrayEquals(direct.readArgb(tile, tile, 0, tile, tile), decoded, layout);
      assertTrue(jpeg.length < tile * tile, layout + ": the stream is compressed");
    }
  }
}
