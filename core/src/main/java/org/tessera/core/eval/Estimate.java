package org.tessera.core.eval;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * A metric's value on the whole split and its 95% bootstrap percentile interval; the interval is
 * NaN when no bootstrap was asked for or no replicate defined the metric.
 */
public record Estimate(double value, @JsonProperty("ci_low") double ciLow,
    @JsonProperty("ci_high") double ciHigh) {}
