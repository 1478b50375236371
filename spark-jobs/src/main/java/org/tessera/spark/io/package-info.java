/**
 * Storage for stage outputs on any Hadoop file system: Parquet schemas and writers used from
 * executors, and the write-then-rename commit that makes every output file all-or-nothing.
 */
package org.tessera.spark.io;
