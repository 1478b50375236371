/**
 * Features computed outside Tessera brought into a feature output (FEAT) in the embed stage's
 * layout, so training reads imported and embedded bags the same way.
 */
package org.tessera.spark.importer;
