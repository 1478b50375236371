/**
 * Tissue segmentation on a slide thumbnail, CLAM-style. Most of a whole-slide image is empty glass;
 * tiling it would waste reading, embedding and training time and dilute every bag with background.
 * {@link org.tessera.wsi.tissue.TissueDetector} turns a thumbnail into a {@link
 * org.tessera.wsi.tissue.TissueMask}, which answers "how much of this level-0 tile is tissue" in
 * O(1) for the tile grid, and {@link org.tessera.wsi.tissue.QcImage} draws both for a human to
 * check.
 */
package org.tessera.wsi.tissue;
