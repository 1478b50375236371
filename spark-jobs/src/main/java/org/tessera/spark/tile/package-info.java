/**
 * The tile stage: slides from any Hadoop file system are spread over executors, each slide is
 * planned (tissue, grid) where it is read, and committed on its own so a stopped run loses nothing.
 */
package org.tessera.spark.tile;
