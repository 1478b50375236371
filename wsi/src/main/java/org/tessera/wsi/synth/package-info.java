/**
 * Synthetic whole-slide cohorts with ground truth. Real slides are large, private and unlabelled at
 * tile level; a generated cohort exercises the whole pipeline (reading every pyramid level through
 * OpenSlide, Aperio and generic TIFF flavours, tissue detection, tiling, multiple-instance training
 * and evaluation) in seconds on a laptop, and its lesion masks say which tiles a model should have
 * found. Tissue texture comes from a real IHC photograph so tiles look like histology.
 */
package org.tessera.wsi.synth;
