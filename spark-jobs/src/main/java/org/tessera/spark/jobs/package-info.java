/**
 * Main classes for {@code spark-submit --class}: one per stage, each running the matching
 * {@code tessera} subcommand with the submitted arguments. Nothing depends on them.
 */
package org.tessera.spark.jobs;
