/**
 * The embed stage: every tile of a tile index becomes a feature vector, computed on the executors
 * with one encoder per executor JVM, in batches, one committed feature file set per slide.
 */
package org.tessera.spark.embed;
