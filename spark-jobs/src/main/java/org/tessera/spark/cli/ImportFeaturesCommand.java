package org.tessera.spark.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.tessera.spark.importer.ImportStage;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "import-features", mixinStandardHelpOptions = true,
    description = {"Bring features computed elsewhere into a feature output, in the layout tessera"
        + " embed writes, so training reads both the same way.",
        "--h5 DIR: one CLAM-style <slide_id>.h5 per slide with datasets features [N,D] (float16/32/"
            + "64) and coords [N,2] (level-0 x,y); the level comes from a patch_level or level "
            + "attribute, else 0.",
        "--csv FILE: a header slide_id,x,y,f0,...,f<D-1>[,level] and one row per instance, in any "
            + "order.",
        "Output (FEAT): features/ (slide_id, col, row, x, y, level, features array<float>; rows "
            + "sorted by y then x, col/row the rank of x/y within the slide), slides/ (status "
            + "ok|failed per slide), manifest.json (encoder \"imported\", format, source, files).",
        "Inputs are read on the driver from its local file system; FEAT may be on any Hadoop file "
            + "system. Re-running skips slides already done; a bad slide (missing dataset, NaN "
            + "features, another D) is reported as failed and the others go on."})
final class ImportFeaturesCommand implements Callable<Integer> {

  /** Exactly one source. */
  static final class Source {
    @Option(names = "--h5", required = true, paramLabel = "DIR", description = "Folder of <slide_id>.h5 feature files.")
    Path h5;

    @Option(names = "--csv", required = true, paramLabel = "FILE", description = "CSV of slide_id,x,y,f0,...,f<D-1>.")
    Path csv;
  }

  @ArgGroup(exclusive = true, multiplicity = "1")
  Source source;

  @Option(names = "--out", required = true, paramLabel = "FEAT", description = "Output folder for the features.")
  String out;

  @Option(names = "--overwrite", description = "Empty the output first (everything an earlier run wrote there), then redo every slide.")
  boolean overwrite;

  @Mixin
  SummaryOption summaryJson;

  @Mixin
  SparkOptions spark;

  @Override
  public Integer call() throws Exception {
    boolean h5 = source.h5 != null;
    ImportStage.Summary summary = ImportStage.run(spark.session("tessera import-features"),
        h5 ? ImportStage.Format.H5 : ImportStage.Format.CSV,
        (h5 ? source.h5 : source.csv).toString(), out, overwrite, System.out);
    summaryJson.report(summary.describe(), summary);
    return 0;
  }
}
