package org.tessera.core.eval;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.Map;

/**
 * Everything {@link Evaluation#evaluate} measures on one split.
 *
 * @param n         slides evaluated
 * @param metrics   {@code auc, pr_auc, sensitivity, specificity, precision, accuracy,
 *                  balanced_accuracy, f1, kappa}, in that order
 * @param confusion rows are true classes, columns predicted ones
 * @param roc       binary only (null, and left out of JSON, for more classes: the per-class AUCs
 *                  say what a macro-averaged curve would, without inventing an interpolation)
 * @param pr        binary only, like {@code roc}
 * @param perClass  class name to its one-vs-rest {@code auc, sensitivity, specificity,
 *                  precision, f1, support}
 */
@JsonPropertyOrder({"n", "metrics", "confusion", "roc", "pr", "per_class"})
public record SplitMetrics(int n, Map<String, Estimate> metrics,
    @JsonProperty("confusion") int[][] confusion,
    @JsonInclude(JsonInclude.Include.NON_NULL) Curve roc,
    @JsonInclude(JsonInclude.Include.NON_NULL) Curve pr,
    Map<String, Map<String, Double>> perClass) {}
