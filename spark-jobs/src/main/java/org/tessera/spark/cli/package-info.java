/**
 * The {@code tessera} command line: one picocli subcommand per stage plus {@code demo} and
 * {@code inspect}. Subcommands only parse, build a SparkSession and call the stage's library API.
 */
package org.tessera.spark.cli;
