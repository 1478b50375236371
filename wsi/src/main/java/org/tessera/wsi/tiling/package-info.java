/**
 * Turning one slide into its tile index: pick the segmentation level, find tissue, lay the grid at
 * the target resolution and keep the tiles with enough tissue. Pure Java and deterministic, so the
 * Spark tile stage only distributes this per slide and the result is the same on any executor.
 */
package org.tessera.wsi.tiling;
