/**
 * Collective operations (all-reduce) among a fixed group of data-parallel workers. Training code
 * in core speaks only this interface, so the same synchronized-BatchNorm and gradient-averaging
 * code runs with one worker, with threads of one JVM in tests, and across Spark executors over
 * the network transport in {@code spark.sync}.
 */
package org.tessera.core.collective;
