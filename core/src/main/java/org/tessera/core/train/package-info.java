/**
 * The training loop of MIL heads, independent of where gradients are computed: the seeded step
 * plan, the resumable state, early stopping, and the single-JVM gradient source that the Spark
 * path is tested against.
 */
package org.tessera.core.train;
