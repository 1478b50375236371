package org.tessera.core.eval;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

/**
 * A metric's value on the whole split and its 95% bootstrap percentile interval; the interval is
 * NaN when no bootstrap was asked for or no replicate defined the metric.
 */
@JsonPropertyOrder({"value", "ci_low", "ci_high"})
public record Estimate(double value, @JsonProperty("ci_low") double ciLow,
    @JsonProperty("ci_high") double ciHigh) {}
