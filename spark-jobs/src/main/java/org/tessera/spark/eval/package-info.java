/**
 * The evaluate stage: slide-level metrics of a finished train run per split and fold, with
 * bootstrap intervals, decision thresholds chosen on validation slides, cross-validation
 * summaries and, where ground-truth lesion masks exist, how well attention localises lesions;
 * written as {@code RUN/metrics.json} for the report.
 */
package org.tessera.spark.eval;
