/**
 * The run report: one static HTML page with PNG figures that a pathologist or reviewer can open
 * from the run folder without Tessera, Spark or a server. Everything it shows is read back from
 * what {@code train} and {@code evaluate} wrote, so a report never disagrees with the run's files;
 * slides are reopened only for thumbnails and tiles, and a slide that is gone costs a placeholder,
 * not the report.
 */
package org.tessera.spark.report;
