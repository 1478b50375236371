/**
 * The train stage: feature bags cached on executors, synchronous data-parallel gradient steps
 * (broadcast parameters, per-partition gradient sums, a tree reduction, optimizer on the
 * driver), checkpoints that resume exactly, and the run's outputs (config, history, predictions,
 * attention).
 */
package org.tessera.spark.train;
