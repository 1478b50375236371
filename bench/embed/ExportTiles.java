import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.hadoop.example.GroupReadSupport;

/**
 * Writes the tiles of a Tessera tile output as CSV (path,level,x,y,size_at_level,tile_size), so the
 * Python baseline of bench/embed reads exactly the tiles Tessera embeds.
 * Usage: java ExportTiles TILE_OUT OUT.csv
 */
public final class ExportTiles {
  public static void main(String[] args) throws Exception {
    Path root = Path.of(args[0]);
    Configuration conf = new Configuration();
    Map<String, String> paths = new HashMap<>();
    try (var files = Files.list(root.resolve("slides"))) {
      for (Path f : files.filter(p -> p.toString().endsWith(".parquet")).sorted().toList()) {
        for (Group g : rows(conf, f)) {
          paths.put(g.getString("slide_id", 0), g.getString("path", 0));
        }
      }
    }
    try (PrintWriter out = new PrintWriter(Files.newBufferedWriter(Path.of(args[1])));
         var files = Files.list(root.resolve("tiles"))) {
      out.println("path,level,x,y,size_at_level,tile_size");
      for (Path f : files.filter(p -> p.toString().endsWith(".parquet")).sorted().toList()) {
        for (Group g : rows(conf, f)) {
          out.printf("%s,%d,%d,%d,%d,%d%n",
              java.net.URI.create(paths.get(g.getString("slide_id", 0))).getPath(),
              g.getInteger("level", 0), g.getLong("x", 0), g.getLong("y", 0),
              g.getInteger("size_at_level", 0), g.getInteger("tile_size", 0));
        }
      }
    }
  }

  private static java.util.List<Group> rows(Configuration conf, Path file) throws Exception {
    java.util.List<Group> rows = new java.util.ArrayList<>();
    try (ParquetReader<Group> r = ParquetReader.builder(new GroupReadSupport(),
        new org.apache.hadoop.fs.Path(file.toUri())).withConf(conf).build()) {
      for (Group g = r.read(); g != null; g = r.read()) {
        rows.add(g);
      }
    }
    return rows;
  }
}
