/**
 * Training mechanics shared by every model and every way of running it: the gradient reduction
 * contract used in one JVM and across Spark executors alike, optimizers, learning-rate schedules,
 * gradient clipping and losses. Nothing here knows about Spark.
 */
package org.tessera.core.optim;
